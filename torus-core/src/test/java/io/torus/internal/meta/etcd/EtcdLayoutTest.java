package io.torus.internal.meta.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.internal.meta.PeerInfo;
import io.torus.internal.meta.ReplicationReport;
import io.torus.internal.meta.VersionedRing;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.Erasure;
import io.torus.TorusException;
import io.torus.VolumeSpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Pins the etcd key layout and value formats ({@link EtcdLayout}). */
class EtcdLayoutTest {
  private final EtcdLayout layout = new EtcdLayout("/torus");

  @Test
  void keysAreTheDocumentedOnes() {
    assertThat(layout.volumeIdCounter()).isEqualTo("/torus/v1/counters/volume-id");
    assertThat(layout.nameKey("disk")).isEqualTo("/torus/v1/names/disk/id");
    assertThat(layout.infoKey(0x2a)).isEqualTo("/torus/v1/volumes/000000000000002a/info");
    assertThat(layout.headKey(0x2a)).isEqualTo("/torus/v1/volumes/000000000000002a/head");
    assertThat(layout.lockKey(0x2a)).isEqualTo("/torus/v1/volumes/000000000000002a/lock");
    assertThat(layout.clusterDefaultsKey()).isEqualTo("/torus/v1/cluster/defaults");
    assertThat(layout.clusterTokenKey()).isEqualTo("/torus/v1/cluster/token");
  }

  @Test
  void noKeyOfOneVolumeIsAPrefixOfAnothersKeys() {
    long[] ids = {2, 0x20, 0x200, 0x2f, 0x21, 1L << 40};
    String[] names = {"2", "20", "200", "2x", "2.", "2-a"};
    List<List<String>> keys = new ArrayList<>();
    for (int i = 0; i < ids.length; i++) {
      keys.add(List.of(layout.volumePrefix(ids[i]), layout.infoKey(ids[i]),
          layout.headKey(ids[i]), layout.lockKey(ids[i]), layout.nameKey(names[i])));
    }
    for (int i = 0; i < keys.size(); i++) {
      for (int j = 0; j < keys.size(); j++) {
        if (i == j) {
          continue;
        }
        for (String mine : keys.get(i)) {
          for (String theirs : keys.get(j)) {
            assertThat(theirs).as("%s vs %s", mine, theirs).doesNotStartWith(mine);
          }
        }
      }
    }
  }

  @Test
  void valuesRoundTripInTheirTextForm() {
    VolumeSpec spec = new VolumeSpec("disk", 4 << 20, 4096, 3);
    Instant t = Instant.parse("2026-01-02T03:04:05.123456Z");
    String info = EtcdLayout.encodeInfo(7, spec, t);
    assertThat(info).isEqualTo("v1 id=7 size=4194304 block-size=4096 replication=3"
        + " created=2026-01-02T03:04:05.123456Z name=disk");
    assertThat(EtcdLayout.decodeInfo("k", info)).isEqualTo(new EtcdLayout.Info(7, spec, t));

    BlockRef root = new BlockRef(7, 3, 9, BlockKind.PARITY);
    assertThat(EtcdLayout.encodeHead(root, 4, 4))
        .isEqualTo("v1 generation=4 root=parity:7/3/9");
    assertThat(EtcdLayout.decodeHead("k", "v1 generation=4 root=parity:7/3/9"))
        .isEqualTo(new EtcdLayout.HeadValue(root, 4, 4));
    assertThat(EtcdLayout.encodeHead(root, 4, 4100))
        .isEqualTo("v1 generation=4 root=parity:7/3/9 reserved=4100");
    assertThat(EtcdLayout.decodeHead("k", "v1 generation=4 root=parity:7/3/9 reserved=4100"))
        .isEqualTo(new EtcdLayout.HeadValue(root, 4, 4100));
    assertThat(EtcdLayout.decodeHead("k", EtcdLayout.encodeHead(null, 0, 0)))
        .isEqualTo(new EtcdLayout.HeadValue(null, 0, 0));
    assertThat(EtcdLayout.encodeHead(null, 2, 4098))
        .isEqualTo("v1 generation=2 root=none reserved=4098");
    assertThatThrownBy(() -> EtcdLayout.decodeHead("k", "v1 generation=9 root=none reserved=8"))
        .isInstanceOf(TorusException.class);

    assertThat(EtcdLayout.encodeJournal(java.util.List.of("node-0", "node-2"), 77))
        .isEqualTo("v1 epoch=77 peers=node-0,node-2");
    assertThat(EtcdLayout.decodeJournal("k", "v1 epoch=77 peers=node-0,node-2"))
        .containsExactly("node-0", "node-2");
    assertThatThrownBy(() -> EtcdLayout.decodeJournal("k", "v1 epoch=77 peers="))
        .isInstanceOf(TorusException.class);

    assertThat(EtcdLayout.encodeLock(0xabcL, "node a@h:1"))
        .isEqualTo("v1 lease=0000000000000abc holder=node a@h:1");
    assertThat(EtcdLayout.decodeLock("k", "v1 lease=0000000000000abc holder=node a@h:1"))
        .isEqualTo(new EtcdLayout.LockValue(0xabc, "node a@h:1"));
    assertThat(EtcdLayout.decodeId("k", "00000000000000ff")).isEqualTo(255);
  }

  @Test
  void damagedValuesNameTheirKey() {
    String[] badHeads = {"", "v2 generation=1 root=none", "v1 generation=x root=none",
        "v1 generation=1 root=blob:1/1/1", "v1 generation=1 root=map:1/0/1"};
    for (String bad : badHeads) {
      assertThatThrownBy(() -> EtcdLayout.decodeHead("/t/v1/volumes/x/head", bad))
          .isInstanceOf(TorusException.class)
          .hasMessageContaining("corrupt value under etcd key '/t/v1/volumes/x/head'");
    }
    assertThatThrownBy(() -> EtcdLayout.decodeInfo("/i", "v1 id=1 size=511 block-size=4096"
        + " replication=1 created=2026-01-01T00:00:00Z name=a"))
        .isInstanceOf(TorusException.class).hasMessageContaining("'/i'")
        .hasMessageContaining("511");
    assertThatThrownBy(() -> EtcdLayout.decodeId("/n", "2")).hasMessageContaining("'/n'");
    assertThatThrownBy(() -> EtcdLayout.decodeCounter("/c", "-1")).hasMessageContaining("'/c'");
    assertThatThrownBy(() -> EtcdLayout.decodeLock("/l", "held")).hasMessageContaining("'/l'");
  }

  @Test
  void coordinationAndSnapshotKeysAreTheDocumentedOnes() {
    assertThat(layout.snapshotKey(0x2a, "s1"))
        .isEqualTo("/torus/v1/volumes/000000000000002a/snapshots/s1/record");
    assertThat(layout.memberKey("node-a")).isEqualTo("/torus/v1/peers/node-a/member");
    assertThat(layout.aliveKey("node-a")).isEqualTo("/torus/v1/peers/node-a/alive");
    assertThat(layout.ringKey()).isEqualTo("/torus/v1/ring/current");
    assertThat(layout.candidateKey("gc", 0xabc))
        .isEqualTo("/torus/v1/elections/gc/0000000000000abc");
    assertThat(layout.isInfoKey(layout.infoKey(7))).isTrue();
    assertThat(layout.isHeadKey(layout.headKey(7))).isTrue();
    assertThat(layout.isSnapshotKey(layout.snapshotKey(7, "x"))).isTrue();
    assertThat(layout.isInfoKey(layout.snapshotsPrefix(7) + "info")).isFalse();
    assertThat(layout.isInfoKey("/torus/v1/volumes/x/info")).isFalse();
    assertThat(layout.isSnapshotKey(layout.snapshotsPrefix(7) + "a/b/record")).isFalse();
    assertThat(layout.volumeIdOf(layout.snapshotKey(0x2a, "s"))).isEqualTo(0x2a);
    for (String[] pair : new String[][] {{"a", "ab"}, {"2", "20"}, {"a", "a."}}) {
      assertThat(layout.snapshotKey(1, pair[1])).doesNotStartWith(layout.snapshotKey(1, pair[0]));
      assertThat(layout.memberKey(pair[1])).doesNotStartWith(layout.peersPrefix() + pair[0]
          + "/");
      assertThat(layout.electionPrefix(pair[1])).doesNotStartWith(layout.electionPrefix(
          pair[0]));
    }
    assertThat(layout.snapshotsPrefix(0x20)).doesNotStartWith(layout.volumePrefix(2));
  }

  @Test
  void coordinationAndSnapshotValuesMatchTheirGoldenText() {
    Instant t = Instant.parse("2026-03-01T10:00:00Z");
    PeerInfo p = new PeerInfo("node-a", "10.0.0.1:7000", 1099511627776L, 4096, 1, t);
    String member = "v1 node=node-a address=10.0.0.1:7000 capacity=1099511627776 used=4096"
        + " protocol=1 started=2026-03-01T10:00:00Z";
    assertThat(EtcdLayout.encodePeer(p, null)).isEqualTo(member);
    assertThat(EtcdLayout.encodePeer(p, 0x694d7a1b2c3d4e5fL))
        .isEqualTo(member + " lease=694d7a1b2c3d4e5f");
    assertThat(EtcdLayout.decodePeer("k", member)).isEqualTo(new EtcdLayout.PeerValue(p, null));
    assertThat(EtcdLayout.decodePeer("k", member + " lease=694d7a1b2c3d4e5f"))
        .isEqualTo(new EtcdLayout.PeerValue(p, 0x694d7a1b2c3d4e5fL));

    VersionedRing ring = new VersionedRing(7, new byte[] {0, 1, 2, (byte) 0xff});
    assertThat(EtcdLayout.encodeRing(ring)).isEqualTo("v1 version=7 length=4 data=AAEC/w==");
    assertThat(EtcdLayout.decodeRing("k", "v1 version=7 length=4 data=AAEC/w=="))
        .isEqualTo(ring);
    assertThat(EtcdLayout.decodeRing("k", "v1 version=1 length=0 data="))
        .isEqualTo(new VersionedRing(1, new byte[0]));

    io.torus.spi.Snapshot snap = new io.torus.spi.Snapshot(42, "disk", "s1",
        new BlockRef(42, 3, 9, BlockKind.MAP), 4, 4194304, t);
    String snapValue = "v1 volume=42 name=s1 size=4194304 generation=4 root=map:42/3/9"
        + " created=2026-03-01T10:00:00Z";
    assertThat(EtcdLayout.encodeSnapshot(snap)).isEqualTo(snapValue);
    assertThat(EtcdLayout.decodeSnapshot("k", snapValue, 42, "s1", "disk")).isEqualTo(snap);
    assertThatThrownBy(() -> EtcdLayout.decodeSnapshot("/s", snapValue, 42, "s2", "disk"))
        .isInstanceOf(TorusException.class).hasMessageContaining("'/s'");
    assertThatThrownBy(() -> EtcdLayout.decodeSnapshot("/s", snapValue, 43, "s1", "disk"))
        .isInstanceOf(TorusException.class).hasMessageContaining("'/s'");

    VolumeSpec spec = new VolumeSpec("copy", 4 << 20, 4096, 2);
    io.torus.spi.CloneOrigin origin = new io.torus.spi.CloneOrigin(42, "disk", "s1");
    String info = "v1 id=43 size=4194304 block-size=4096 replication=2"
        + " created=2026-03-01T10:00:00Z name=copy origin=000000000000002a/disk@s1";
    assertThat(EtcdLayout.encodeInfo(43, spec, t, origin)).isEqualTo(info);
    assertThat(EtcdLayout.decodeInfo("k", info))
        .isEqualTo(new EtcdLayout.Info(43, spec, t, origin));

    // an encrypted clone: its own wrapped key (volume 0) first, then its origin's (42)
    io.torus.VolumeKeys keys = new io.torus.VolumeKeys("aes-256-gcm", "static:0011223344556677",
        java.util.List.of(new io.torus.VolumeKeys.Wrapped(0, new byte[] {1, 2, (byte) 0xff}),
            new io.torus.VolumeKeys.Wrapped(42, new byte[] {10, 11})));
    VolumeSpec encrypted = new VolumeSpec("copy", 4 << 20, 4096, 2, keys);
    String encInfo = info + " cipher=aes-256-gcm kek=static:0011223344556677 keys=0:0102ff,42:0a0b";
    assertThat(EtcdLayout.encodeInfo(43, encrypted, t, origin)).isEqualTo(encInfo);
    assertThat(EtcdLayout.decodeInfo("k", encInfo))
        .isEqualTo(new EtcdLayout.Info(43, encrypted, t, origin));
    assertThatThrownBy(() -> EtcdLayout.decodeInfo("/i", encInfo.replace("0:0102ff,", "")))
        .isInstanceOf(TorusException.class).hasMessageContaining("'/i'");
    assertThatThrownBy(() -> EtcdLayout.decodeInfo("/i", encInfo.replace("0102ff", "0102f")))
        .isInstanceOf(TorusException.class).hasMessageContaining("'/i'");

    // an erasure-coded clone: its policy after the origin, before any keys
    VolumeSpec coded = new VolumeSpec("copy", 4 << 20, 4096, 3, null, new Erasure(4, 2));
    String codedInfo = "v1 id=43 size=4194304 block-size=4096 replication=3"
        + " created=2026-03-01T10:00:00Z name=copy origin=000000000000002a/disk@s1 erasure=4+2";
    assertThat(EtcdLayout.encodeInfo(43, coded, t, origin)).isEqualTo(codedInfo);
    assertThat(EtcdLayout.decodeInfo("k", codedInfo))
        .isEqualTo(new EtcdLayout.Info(43, coded, t, origin));
    VolumeSpec both = new VolumeSpec("copy", 4 << 20, 4096, 9, keys, new Erasure(16, 8));
    String bothInfo = info.replace("replication=2", "replication=9") + " erasure=16+8"
        + " cipher=aes-256-gcm kek=static:0011223344556677 keys=0:0102ff,42:0a0b";
    assertThat(EtcdLayout.encodeInfo(43, both, t, origin)).isEqualTo(bothInfo);
    assertThat(EtcdLayout.decodeInfo("k", bothInfo))
        .isEqualTo(new EtcdLayout.Info(43, both, t, origin));
    for (String bad : new String[] {"erasure=0+2", "erasure=4+0", "erasure=17+2",
        "erasure=4+9", "erasure=4+2+1", "erasure=4", "erasure=04+2", "erasure=4+3"}) {
      assertThatThrownBy(() -> EtcdLayout.decodeInfo("/i", codedInfo.replace("erasure=4+2",
          bad))).as(bad).isInstanceOf(TorusException.class).hasMessageContaining("'/i'")
          .extracting(e -> ((TorusException) e).code()).isEqualTo(io.torus.ErrorCode.EIO);
    }

    // I/O limits: after the erasure-coding policy, before any keys; absent when there are none
    io.torus.VolumeQos qos = new io.torus.VolumeQos(500, 0, 104857600, 52428800,
        java.time.Duration.ofMillis(250));
    VolumeSpec limited = new VolumeSpec("copy", 4 << 20, 4096, 9, keys, new Erasure(16, 8),
        qos);
    String limitedInfo = info.replace("replication=2", "replication=9") + " erasure=16+8"
        + " qos=riops:500,wiops:0,rbps:104857600,wbps:52428800,burst-ms:250"
        + " cipher=aes-256-gcm kek=static:0011223344556677 keys=0:0102ff,42:0a0b";
    assertThat(EtcdLayout.encodeInfo(43, limited, t, origin)).isEqualTo(limitedInfo);
    assertThat(EtcdLayout.decodeInfo("k", limitedInfo))
        .isEqualTo(new EtcdLayout.Info(43, limited, t, origin));
    VolumeSpec onlyQos = new VolumeSpec("copy", 4 << 20, 4096, 2, null, null,
        new io.torus.VolumeQos(0, 0, 0, 0, java.time.Duration.ofSeconds(5)));
    String onlyQosInfo = info + " qos=riops:0,wiops:0,rbps:0,wbps:0,burst-ms:5000";
    assertThat(EtcdLayout.encodeInfo(43, onlyQos, t, origin)).isEqualTo(onlyQosInfo);
    assertThat(EtcdLayout.decodeInfo("k", onlyQosInfo).spec()).isEqualTo(onlyQos);
    assertThat(EtcdLayout.encodeInfo(43, new VolumeSpec("copy", 4 << 20, 4096, 2, null, null,
        io.torus.VolumeQos.UNLIMITED), t, origin)).isEqualTo(info);
    assertThat(EtcdLayout.decodeInfo("k", info).spec().qos())
        .isEqualTo(io.torus.VolumeQos.UNLIMITED);
    String q = "qos=riops:500,wiops:0,rbps:104857600,wbps:52428800,burst-ms:250";
    for (String bad : new String[] {"qos=riops:500,wiops:0,rbps:104857600,wbps:52428800",
        "qos=riops:-1,wiops:0,rbps:104857600,wbps:52428800,burst-ms:250",
        "qos=riops:0500,wiops:0,rbps:104857600,wbps:52428800,burst-ms:250",
        "qos=wiops:0,riops:500,rbps:104857600,wbps:52428800,burst-ms:250",
        "qos=riops:500,wiops:0,rbps:104857600,wbps:52428800,burst-ms:0",
        "qos=riops:500,wiops:0,rbps:104857600,wbps:52428800,burst-ms:3600001",
        "qos=riops:1125899906842625,wiops:0,rbps:0,wbps:0,burst-ms:250"}) {
      assertThatThrownBy(() -> EtcdLayout.decodeInfo("/i", limitedInfo.replace(q, bad)))
          .as(bad).isInstanceOf(TorusException.class).hasMessageContaining("'/i'")
          .extracting(e -> ((TorusException) e).code()).isEqualTo(io.torus.ErrorCode.EIO);
    }

    assertThat(EtcdLayout.encodeCandidate("node-a@10.0.0.1:7000"))
        .isEqualTo("v1 candidate=node-a@10.0.0.1:7000");
    assertThat(EtcdLayout.decodeCandidate("k", "v1 candidate=node-a@10.0.0.1:7000"))
        .isEqualTo("node-a@10.0.0.1:7000");
  }

  @Test
  void damagedCoordinationValuesNameTheirKey() {
    String[] badPeers = {"", "v1 node=a address=h capacity=1 used=0 protocol=1"
        + " started=2026-03-01T10:00:00Z", "v1 node=a address=h:1 capacity=-1 used=0"
        + " protocol=1 started=2026-03-01T10:00:00Z", "v1 node=a address=h:1 capacity=1"
        + " used=0 protocol=0 started=2026-03-01T10:00:00Z"};
    for (String bad : badPeers) {
      assertThatThrownBy(() -> EtcdLayout.decodePeer("/p", bad))
          .isInstanceOf(TorusException.class).hasMessageContaining("'/p'");
    }
    String[] badRings = {"", "v1 version=0 length=0 data=", "v1 version=1 length=3 data=AAEC/w==",
        "v1 version=1 length=4 data=AAEC/w=", "v2 version=1 length=0 data="};
    for (String bad : badRings) {
      assertThatThrownBy(() -> EtcdLayout.decodeRing("/r", bad))
          .isInstanceOf(TorusException.class).hasMessageContaining("'/r'");
    }
    assertThatThrownBy(() -> EtcdLayout.decodeCandidate("/e", "node-a"))
        .isInstanceOf(TorusException.class).hasMessageContaining("'/e'");
  }

  @Test
  void rootPrefixIsValidated() {
    assertThat(new EtcdLayout("/a/b.c").base()).isEqualTo("/a/b.c/v1/");
    for (String bad : new String[] {"", "/", "torus", "/torus/", "/a//b", "/a b"}) {
      assertThatThrownBy(() -> new EtcdLayout(bad)).isInstanceOf(TorusException.class)
          .hasMessageContaining("root prefix");
    }
  }

  @Test
  void replicationReportsAndDrainsAreTheDocumentedOnes() {
    assertThat(layout.reportKey("node-a")).isEqualTo("/torus/v1/rebalance/reports/node-a");
    assertThat(layout.drainKey("node-a")).isEqualTo("/torus/v1/rebalance/drains/node-a");
    ReplicationReport r = new ReplicationReport("node-a", 7, true, 10, 12, 3, 4096, 8192,
        1000, 20, 2, 1, Instant.parse("2026-01-01T00:00:00Z"));
    String value = "v1 node=node-a ring=7 done=true scanned=10 total=12 missing=3 to-move=4096"
        + " moved=8192 rate=1000 scrubbed=20 corrupt=2 repaired=1 updated=2026-01-01T00:00:00Z";
    assertThat(EtcdLayout.encodeReport(r)).isEqualTo(value);
    assertThat(EtcdLayout.decodeReport("/k", value)).isEqualTo(r);
    assertThat(r.etaSeconds()).isEqualTo(5);
    assertThatThrownBy(() -> EtcdLayout.decodeReport("/k", value.replace("done=true", "done=1")))
        .isInstanceOf(TorusException.class).hasMessageContaining("'/k'");
    String drain = "v1 node=node-b requested=2026-01-01T00:00:00Z";
    assertThat(EtcdLayout.encodeDrain("node-b", Instant.parse("2026-01-01T00:00:00Z")))
        .isEqualTo(drain);
    assertThat(EtcdLayout.decodeDrain("/d", drain)).isEqualTo("node-b");
    assertThatThrownBy(() -> EtcdLayout.decodeDrain("/d", "v1 node=.x requested=x"))
        .isInstanceOf(TorusException.class).hasMessageContaining("'/d'");
  }
}
