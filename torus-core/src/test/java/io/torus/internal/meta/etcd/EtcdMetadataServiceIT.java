package io.torus.internal.meta.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.options.GetOption;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.ErrorCode;
import io.torus.LeaseLostException;
import io.torus.TorusException;
import io.torus.VolumeInfo;
import io.torus.VolumeLockedException;
import io.torus.VolumeSpec;
import io.torus.spi.Head;
import io.torus.spi.VolumeLock;
import io.torus.testing.etcd.EtcdCluster;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The etcd metadata service against one real etcd member: nodes, keys, damage, options. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class EtcdMetadataServiceIT {
  @RegisterExtension
  static final EtcdCluster ETCD = EtcdCluster.builder().members(1).build();

  private static final AtomicInteger TEST = new AtomicInteger();
  private static final long MIB = 1 << 20;

  private final String prefix = "/it/t" + TEST.incrementAndGet();
  private EtcdMetadataService a;
  private EtcdMetadataService b;
  private Client raw;

  @AfterEach
  void close() {
    for (AutoCloseable c : new AutoCloseable[] {a, b, raw}) {
      if (c != null) {
        try {
          c.close();
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }
    }
  }

  private EtcdMetadataService node() {
    return EtcdMetadataService.builder().endpoints(ETCD.endpoints()).rootPrefix(prefix)
        .leaseTtl(Duration.ofSeconds(5)).requestTimeout(Duration.ofSeconds(3)).build();
  }

  private Client raw() {
    if (raw == null) {
      raw = Client.builder().endpoints(ETCD.endpoints().toArray(new String[0])).build();
    }
    return raw;
  }

  private Map<String, String> keys() throws Exception {
    Map<String, String> out = new TreeMap<>();
    for (KeyValue kv : raw().getKVClient().get(bs(prefix + "/"),
        GetOption.builder().isPrefix(true).build()).get(5, TimeUnit.SECONDS).getKvs()) {
      out.put(kv.getKey().toString(StandardCharsets.UTF_8),
          kv.getValue().toString(StandardCharsets.UTF_8));
    }
    return out;
  }

  private static ByteSequence bs(String s) {
    return ByteSequence.from(s, StandardCharsets.UTF_8);
  }

  @Test
  void secondNodeIsRefusedUntilTheFirstUnlocks() {
    a = node();
    b = node();
    VolumeInfo v = a.createVolume(VolumeSpec.builder("shared", MIB).build());
    assertThat(b.volume("shared")).contains(v);
    VolumeLock la = a.lockVolume(v.id(), "node-a@127.0.0.1:7001");
    assertThatThrownBy(() -> b.lockVolume(v.id(), "node-b@127.0.0.1:7002"))
        .isInstanceOf(VolumeLockedException.class)
        .hasMessageContaining("node-a@127.0.0.1:7001").hasMessageContaining("shared");
    assertThatThrownBy(() -> b.commitHead(la, la.head(), null, la.head().generation() + 1))
        .as("a lock taken by another node is not this node's to use")
        .isInstanceOf(LeaseLostException.class);
    a.unlock(la);
    VolumeLock lb = b.lockVolume(v.id(), "node-b@127.0.0.1:7002");
    assertThat(lb.epoch()).isGreaterThan(la.epoch());
    assertThat(lb.head().generation()).isEqualTo(la.head().reserved() + 1);
    assertThat(a.head(v.id())).isEqualTo(lb.head());
  }

  @Test
  void closingANodeReleasesItsLocks() {
    a = node();
    b = node();
    VolumeInfo v = a.createVolume(VolumeSpec.builder("v", MIB).build());
    VolumeLock la = a.lockVolume(v.id(), "a");
    a.close();
    VolumeLock lb = b.lockVolume(v.id(), "b");
    assertThat(lb.epoch()).isGreaterThan(la.epoch());
  }

  @Test
  void keysFollowTheDocumentedLayout() throws Exception {
    a = node();
    VolumeInfo v = a.createVolume(VolumeSpec.builder("disk", 4 * MIB).blockSize(4096)
        .replication(3).build());
    VolumeLock l = a.lockVolume(v.id(), "holder x");
    a.commitHead(l, l.head(), new BlockRef(v.id(), 1, 5, BlockKind.MAP), 2);
    String base = prefix + "/v1/";
    String vol = base + "volumes/0000000000000001/";
    Map<String, String> keys = keys();
    assertThat(keys).containsOnlyKeys(base + "counters/volume-id", base + "names/disk/id",
        vol + "info", vol + "head", vol + "lock");
    assertThat(keys.get(base + "counters/volume-id")).isEqualTo("1");
    assertThat(keys.get(base + "names/disk/id")).isEqualTo("0000000000000001");
    assertThat(keys.get(vol + "info")).isEqualTo("v1 id=1 size=4194304 block-size=4096"
        + " replication=3 created=" + v.created() + " name=disk");
    assertThat(keys.get(vol + "head")).isEqualTo("v1 generation=2 root=map:1/1/5 reserved=4098");
    assertThat(keys.get(vol + "lock"))
        .isEqualTo("v1 lease=" + String.format("%016x", a.leaseId()) + " holder=holder x");
    KeyValue lock = raw().getKVClient().get(bs(vol + "lock")).get(5, TimeUnit.SECONDS)
        .getKvs().get(0);
    assertThat(lock.getCreateRevision()).isEqualTo(l.epoch());
    assertThat(lock.getLease()).isEqualTo(a.leaseId());
  }

  @Test
  void aJournalRecordKeepsTheStoredGenerationAcrossALock() throws Exception {
    a = node();
    VolumeInfo v = a.createVolume(VolumeSpec.builder("j", 4 * MIB).blockSize(4096).build());
    VolumeLock l = a.lockVolume(v.id(), "w1");
    Head h = a.commitHead(l, l.head(), new BlockRef(v.id(), l.head().generation() + 1, 0,
        BlockKind.MAP), l.head().generation() + 1);
    a.setJournal(l, List.of("node-0", "node-1"));
    String key = prefix + "/v1/volumes/" + String.format("%016x", v.id()) + "/journal";
    assertThat(keys().get(key)).isEqualTo("v1 epoch=" + l.epoch() + " peers=node-0,node-1");
    assertThat(a.journal(v.id())).containsExactly("node-0", "node-1");
    assertThat(a.liveRoots().roots()).as("the collector understands the record").isNotEmpty();
    a.unlock(l);

    VolumeLock next = a.lockVolume(v.id(), "w2");
    assertThat(a.head(v.id()).generation()).as("stored generation kept for the replay")
        .isEqualTo(h.generation());
    assertThat(next.head().generation()).as("the new writer starts above the old range")
        .isGreaterThan(h.reserved());
    assertThatThrownBy(() -> a.setJournal(l, List.of())).as("only the lock holder")
        .isInstanceOf(LeaseLostException.class);
    a.setJournal(next, List.of());
    assertThat(keys()).doesNotContainKey(key);
    assertThat(a.journal(v.id())).isEmpty();
    a.unlock(next);
    VolumeLock third = a.lockVolume(v.id(), "w3");
    assertThat(a.head(v.id()).generation()).as("no record: the lock moves it up again")
        .isEqualTo(third.head().generation());
  }

  @Test
  void deletingVolume2TouchesNoKeyOfAnotherVolume() throws Exception {
    a = node();
    for (String n : new String[] {"2", "20", "200", "2x"}) {
      VolumeInfo v = a.createVolume(VolumeSpec.builder(n, MIB).build());
      VolumeLock l = a.lockVolume(v.id(), "w");
      a.commitHead(l, l.head(), new BlockRef(v.id(), 1, 0, BlockKind.MAP), 2);
      if (!n.equals("2")) {
        continue;
      }
      a.unlock(l);
    }
    Map<String, String> before = keys();
    long id2 = a.volume("2").orElseThrow().id();
    a.deleteVolume("2");
    Map<String, String> after = keys();
    String base = prefix + "/v1/";
    Map<String, String> expected = new TreeMap<>(before);
    expected.keySet().removeIf(k -> k.equals(base + "names/2/id")
        || k.startsWith(base + "volumes/" + String.format("%016x", id2) + "/"));
    assertThat(expected).hasSize(before.size() - 3);
    assertThat(after).isEqualTo(expected);
  }

  @Test
  void corruptValueIsReportedByKeyAndNothingIsDeleted() throws Exception {
    a = node();
    VolumeInfo v = a.createVolume(VolumeSpec.builder("victim", MIB).build());
    a.createVolume(VolumeSpec.builder("bystander", MIB).build());
    String info = prefix + "/v1/volumes/" + String.format("%016x", v.id()) + "/info";
    String head = prefix + "/v1/volumes/" + String.format("%016x", v.id()) + "/head";
    raw().getKVClient().put(bs(info), bs("v1 id=1 size=banana")).get(5, TimeUnit.SECONDS);
    raw().getKVClient().put(bs(head), bs("\u0000garbage")).get(5, TimeUnit.SECONDS);
    Map<String, String> before = keys();

    assertThatThrownBy(() -> a.volume("victim")).isInstanceOf(TorusException.class)
        .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.EIO))
        .hasMessageContaining("corrupt value under etcd key '" + info + "'");
    assertThatThrownBy(() -> a.volumes()).isInstanceOf(TorusException.class)
        .hasMessageContaining(info);
    assertThatThrownBy(() -> a.head(v.id())).isInstanceOf(TorusException.class)
        .hasMessageContaining("corrupt value under etcd key '" + head + "'");
    assertThatThrownBy(() -> a.lockVolume(v.id(), "w")).isInstanceOf(TorusException.class)
        .hasMessageContaining(head);
    assertThatThrownBy(() -> a.resizeVolume("victim", 2 * MIB))
        .isInstanceOf(TorusException.class).hasMessageContaining(info);
    assertThat(a.volume("bystander")).isPresent();
    assertThat(keys()).isEqualTo(before);
  }

  @Test
  void snapshotAndCloneRecordsFollowTheDocumentedLayout() throws Exception {
    a = node();
    VolumeInfo v = a.createVolume(VolumeSpec.builder("src", MIB).build());
    a.createSnapshot("src", "s1");
    VolumeInfo c = a.createClone("copy", "src", "s1");
    Map<String, String> keys = keys();
    String snapKey = prefix + "/v1/volumes/" + EtcdLayout.hex(v.id()) + "/snapshots/s1/record";
    assertThat(keys.get(snapKey)).matches("v1 volume=" + v.id() + " name=s1 size=1048576"
        + " generation=0 root=none created=\\S+Z");
    assertThat(keys.get(prefix + "/v1/volumes/" + EtcdLayout.hex(c.id()) + "/info"))
        .endsWith(" name=copy origin=" + EtcdLayout.hex(v.id()) + "/src@s1");
  }

  @Test
  void liveRootsRefuseToListAroundAnUnreadableRecord() throws Exception {
    a = node();
    VolumeInfo v = a.createVolume(VolumeSpec.builder("v", MIB).build());
    a.createSnapshot("v", "s");
    assertThat(a.liveRoots().roots()).hasSize(2);
    String vol = prefix + "/v1/volumes/" + EtcdLayout.hex(v.id()) + "/";
    raw().getKVClient().put(bs(vol + "snapshots/s/record"), bs("v1 volume=1 name=s"))
        .get(5, TimeUnit.SECONDS);
    assertThatThrownBy(() -> a.liveRoots()).isInstanceOf(TorusException.class)
        .hasMessageContaining("snapshots/s/record");
    a.deleteSnapshot("v", "s");
    assertThat(a.liveRoots().roots()).hasSize(1);

    raw().getKVClient().put(bs(vol + "future-record"), bs("x")).get(5, TimeUnit.SECONDS);
    assertThatThrownBy(() -> a.liveRoots()).isInstanceOf(TorusException.class)
        .hasMessageContaining("future-record").hasMessageContaining("unknown key");
    raw().getKVClient().delete(bs(vol + "future-record")).get(5, TimeUnit.SECONDS);
    raw().getKVClient().delete(bs(vol + "head")).get(5, TimeUnit.SECONDS);
    assertThatThrownBy(() -> a.liveRoots()).isInstanceOf(TorusException.class)
        .hasMessageContaining("has no head key");
  }

  @Test
  void repeatingACommitThatWasAppliedIsRecognised() {
    a = node();
    VolumeInfo v = a.createVolume(VolumeSpec.builder("v", MIB).build());
    VolumeLock l = a.lockVolume(v.id(), "w");
    BlockRef root = new BlockRef(v.id(), 1, 3, BlockKind.MAP);
    Head first = a.commitHead(l, l.head(), root, 2);
    Head again = a.commitHead(l, l.head(), root, 2);
    assertThat(again).isEqualTo(first);
    assertThat(a.head(v.id())).isEqualTo(first);
  }

  @Test
  void unreachableEtcdIsARetryableEioWithinTheTimeout() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    String endpoint = "http://127.0.0.1:" + port;
    long start = System.nanoTime();
    assertThatThrownBy(() -> EtcdMetadataService.builder().endpoints(endpoint)
        .connectTimeout(Duration.ofSeconds(1)).requestTimeout(Duration.ofSeconds(1)).build())
        .isInstanceOf(TorusException.class)
        .satisfies(e -> {
          assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.EIO);
          assertThat(((TorusException) e).isRetryable()).isTrue();
        })
        .hasMessageContaining(endpoint);
    assertThat(System.nanoTime() - start).isLessThan(TimeUnit.SECONDS.toNanos(5));
  }

  @Test
  void badOptionsAreRejectedByName() {
    assertThatThrownBy(() -> EtcdMetadataService.builder().build())
        .isInstanceOf(TorusException.class).hasMessageContaining("endpoint");
    assertThatThrownBy(() -> EtcdMetadataService.builder().endpoints("127.0.0.1:2379").build())
        .isInstanceOf(TorusException.class).hasMessageContaining("127.0.0.1:2379");
    assertThatThrownBy(() -> EtcdMetadataService.builder().endpoints(ETCD.endpoints())
        .rootPrefix("/a/").build()).isInstanceOf(TorusException.class)
        .hasMessageContaining("/a/");
    assertThatThrownBy(() -> EtcdMetadataService.builder().endpoints(ETCD.endpoints())
        .leaseTtl(Duration.ofMillis(1500)).build()).isInstanceOf(TorusException.class)
        .hasMessageContaining("PT1.5S");
  }
}
