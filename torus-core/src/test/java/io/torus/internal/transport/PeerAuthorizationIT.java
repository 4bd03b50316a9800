package io.torus.internal.transport;

import static io.torus.testing.Blocks.crc;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.internal.peer.StorePeerService;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.VolumeInfo;
import io.torus.VolumeSpec;
import io.torus.internal.meta.etcd.EtcdMetadataService;
import io.torus.internal.meta.PeerAuthority;
import io.torus.internal.storage.MemoryBlockStore;
import io.torus.spi.VolumeLock;
import io.torus.testing.etcd.EtcdCluster;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Destructive requests from a client that holds neither the cluster token nor a real epoch
 * (anyone who can reach the peer's port) are refused, against a real etcd.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PeerAuthorizationIT {
  private static final Duration D = Duration.ofSeconds(5);

  @RegisterExtension
  final EtcdCluster etcd = EtcdCluster.builder().members(1).build();

  @TempDir Path dir;
  private EtcdMetadataService meta;
  private PeerAuthority authority;
  private StorePeerService service;
  private ExecutorService workers;
  private ExecutorService callbacks;
  private PeerServer server;
  private PeerTransport member;
  private PeerTransport stranger;

  @BeforeEach
  void start() {
    meta = EtcdMetadataService.builder().endpoints(etcd.endpoints()).rootPrefix("/auth")
        .leaseTtl(Duration.ofSeconds(10)).requestTimeout(Duration.ofSeconds(2))
        .connectTimeout(Duration.ofSeconds(1)).build();
    authority = meta.authority();
    workers = Executors.newFixedThreadPool(4);
    callbacks = Executors.newFixedThreadPool(2);
    service = new StorePeerService("peer-1", List.of(new MemoryBlockStore("m0", 1L << 30)),
        dir.resolve("epochs"), authority::isCurrent, authority.clusterToken());
    server = PeerServer.start(service, workers, "127.0.0.1", 0);
    member = new PeerTransport("member", TransportOptions.defaults(), callbacks, null,
        authority.clusterToken());
    stranger = new PeerTransport("stranger", TransportOptions.defaults(), callbacks);
  }

  @AfterEach
  void stop() {
    member.close();
    stranger.close();
    server.close();
    workers.shutdownNow();
    callbacks.shutdownNow();
    meta.close();
  }

  private static ByteBuffer block(int seed) {
    byte[] b = new byte[4096];
    new java.util.SplittableRandom(seed).nextBytes(b);
    return ByteBuffer.wrap(b);
  }

  @Test
  void deleteWithoutTokenOrEpochIsRefusedAndTheBlockRemains() {
    VolumeInfo v = meta.createVolume(VolumeSpec.builder("v", 1 << 20).build());
    VolumeLock lock = meta.lockVolume(v.id(), "writer");
    BlockRef ref = new BlockRef(v.id(), 1, 1, BlockKind.DATA);
    ByteBuffer data = block(1);
    PeerClient writer = member.client(server.address());
    writer.put(ref, lock.epoch(), data, crc(data), false, D).join();

    PeerClient raw = stranger.client(server.address());
    assertThatThrownBy(() -> raw.delete(ref, D).join())
        .hasCauseInstanceOf(UnauthorizedException.class)
        .hasMessageContaining("neither the cluster token nor the volume's epoch");
    try (PeerTransport forger = new PeerTransport("forger", TransportOptions.defaults(),
        callbacks, null, "not-the-token!!!".getBytes(StandardCharsets.UTF_8))) {
      assertThatThrownBy(() -> forger.client(server.address()).delete(ref, D).join())
          .hasCauseInstanceOf(UnauthorizedException.class)
          .hasMessageContaining("wrong cluster token");
    }
    assertThatThrownBy(() -> raw.delete(ref, lock.epoch() - 1, D).join())
        .hasCauseInstanceOf(StaleEpochException.class);
    assertThatThrownBy(() -> raw.delete(ref, Long.MAX_VALUE, D).join())
        .hasCauseInstanceOf(StaleEpochException.class);
    assertThat(writer.get(ref, D).join()).isEqualTo(data);
    assertThat(service.highestEpoch(v.id())).isEqualTo(lock.epoch());

    // the writer (its epoch) and the cluster (the token) may delete
    assertThat(raw.delete(ref, lock.epoch(), D).join()).isTrue();
    writer.put(ref, lock.epoch(), data, crc(data), false, D).join();
    assertThat(writer.delete(ref, D).join()).isTrue();
    assertThat(writer.get(ref, D).join()).isNull();
  }

  @Test
  void forgedEpochIsRefusedAndDoesNotFenceTheVolume() {
    VolumeInfo v = meta.createVolume(VolumeSpec.builder("w", 1 << 20).build());
    BlockRef ref = new BlockRef(v.id(), 1, 7, BlockKind.DATA);
    ByteBuffer data = block(2);
    PeerClient raw = stranger.client(server.address());
    // no lock at all: nothing may raise the volume's epoch
    assertThatThrownBy(() -> raw.put(ref, Long.MAX_VALUE, data, crc(data), false, D).join())
        .hasCauseInstanceOf(StaleEpochException.class)
        .hasMessageContaining("is not the volume's current lock epoch");
    assertThat(service.highestEpoch(v.id())).isZero();
    assertThat(raw.get(ref, D).join()).isNull();

    VolumeLock lock = meta.lockVolume(v.id(), "writer");
    assertThatThrownBy(() -> raw.put(ref, Long.MAX_VALUE, data, crc(data), false, D).join())
        .hasCauseInstanceOf(StaleEpochException.class);
    assertThatThrownBy(() -> raw.put(ref, lock.epoch() + 1, data, crc(data), false, D).join())
        .hasCauseInstanceOf(StaleEpochException.class);
    assertThat(service.highestEpoch(v.id())).isZero();

    // the real writer is not fenced
    PeerClient writer = member.client(server.address());
    writer.put(ref, lock.epoch(), data, crc(data), false, D).join();
    assertThat(service.highestEpoch(v.id())).isEqualTo(lock.epoch());
    assertThat(writer.get(ref, D).join()).isEqualTo(data);

    // a new writer's epoch is accepted and fences the old one
    meta.unlock(lock);
    VolumeLock next = meta.lockVolume(v.id(), "writer-2");
    BlockRef ref2 = new BlockRef(v.id(), 2, 0, BlockKind.DATA);
    writer.put(ref2, next.epoch(), data, crc(data), false, D).join();
    assertThatThrownBy(() -> writer.put(new BlockRef(v.id(), 1, 8, BlockKind.DATA),
        lock.epoch(), data, crc(data), false, D).join())
        .hasCauseInstanceOf(StaleEpochException.class);
  }

  @Test
  void clusterTokenIsCreatedOnceAndReadByEveryNode() {
    try (EtcdMetadataService other = EtcdMetadataService.builder()
        .endpoints(etcd.endpoints()).rootPrefix("/auth").requestTimeout(Duration.ofSeconds(2))
        .connectTimeout(Duration.ofSeconds(1)).build()) {
      byte[] again = other.authority().clusterToken();
      assertThat(again).hasSize(16).isEqualTo(authority.clusterToken());
    }
  }
}
