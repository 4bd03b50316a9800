package io.torus.internal.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.torus.BlockVolume;
import io.torus.ErrorCode;
import io.torus.LeaseLostException;
import io.torus.Torus;
import io.torus.TorusClosedException;
import io.torus.TorusException;
import io.torus.VolumeExistsException;
import io.torus.VolumeLockedException;
import io.torus.VolumeNotFoundException;
import io.torus.VolumeSpec;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TorusNodeTest {
  @TempDir
  Path dir;

  private static VolumeSpec spec(String name) {
    return VolumeSpec.builder(name, 1 << 20).blockSize(4096).replication(1).build();
  }

  @Test
  void oneNodePerDataDirectory() {
    try (Torus first = Torus.builder().dataDirectory(dir).build()) {
      assertThatThrownBy(() -> Torus.builder().dataDirectory(dir).build())
          .isInstanceOf(TorusException.class).hasMessageContaining("in use")
          .extracting(e -> ((TorusException) e).code()).isEqualTo(ErrorCode.EPERM);
      assertThat(first.nodeId()).isNotBlank();
    }
    String id;
    try (Torus again = Torus.builder().dataDirectory(dir).build()) {
      id = again.nodeId();
    }
    try (Torus third = Torus.builder().dataDirectory(dir).build()) {
      assertThat(third.nodeId()).as("node id is stable").isEqualTo(id);
    }
  }

  @Test
  void aLimitedVolumeIsRefusedOnAMetadataServiceThatDropsItsLimits() {
    io.torus.spi.MetadataService inner =
        io.torus.internal.meta.local.LocalMetadataService.inMemory();
    io.torus.spi.MetadataService dropping = (io.torus.spi.MetadataService)
        java.lang.reflect.Proxy.newProxyInstance(getClass().getClassLoader(),
            new Class<?>[] {io.torus.spi.MetadataService.class}, (proxy, m, args) -> {
              Object[] a = args;
              if (m.getName().equals("createVolume")) { // an older service: keeps no limits
                VolumeSpec s = (VolumeSpec) args[0];
                a = new Object[] {new VolumeSpec(s.name(), s.size(), s.blockSize(),
                    s.replication(), s.encryption(), s.erasure())};
              }
              try {
                return m.isDefault() && m.getName().equals("setVolumeQos")
                    ? java.lang.reflect.InvocationHandler.invokeDefault(proxy, m, a)
                    : m.invoke(inner, a);
              } catch (java.lang.reflect.InvocationTargetException e) {
                throw e.getCause();
              }
            });
    try (Torus t = Torus.builder().metadata(dropping).build()) {
      io.torus.VolumeQos qos = new io.torus.VolumeQos(100, 100, 0, 0);
      assertThatThrownBy(() -> t.createVolume(VolumeSpec.builder("q", 1 << 20)
          .replication(1).qos(qos).build())).isInstanceOf(TorusException.class)
          .hasMessage("the metadata service does not store volume QoS limits; volume 'q' not"
              + " created")
          .extracting(e -> ((TorusException) e).code()).isEqualTo(ErrorCode.ENOTSUP);
      assertThat(t.volumes()).isEmpty(); // undone
      t.createVolume(spec("plain")); // without limits: fine
      assertThatThrownBy(() -> t.setVolumeQos("plain", qos))
          .isInstanceOf(TorusException.class).hasMessageContaining("volume QoS limits")
          .extracting(e -> ((TorusException) e).code()).isEqualTo(ErrorCode.ENOTSUP);
    }
  }

  @Test
  void volumeLifecycleAndMisuse() {
    try (Torus t = Torus.builder().build()) {
      t.createVolume(spec("a"));
      assertThatThrownBy(() -> t.createVolume(spec("a"))).isInstanceOf(VolumeExistsException.class);
      assertThatThrownBy(() -> t.openVolume("nope")).isInstanceOf(VolumeNotFoundException.class)
          .hasMessageContaining("'nope'");
      assertThatThrownBy(() -> t.createVolume(VolumeSpec.builder("r3", 4096).build()))
          .hasMessageContaining("replication 2 needs at least 2 stores; this node has 1");
      assertThatThrownBy(() -> t.createVolume(VolumeSpec.builder("ec", 4096).erasure(4, 2)
          .build())).isInstanceOf(TorusException.class)
          .hasMessageContaining("erasure coding needs a cluster of at least k+m peers")
          .hasMessageContaining("(6 for 4+2)")
          .extracting(e -> ((TorusException) e).code()).isEqualTo(ErrorCode.EINVAL);
      assertThat(t.volumes()).extracting(io.torus.VolumeInfo::name).containsExactly("a");
      BlockVolume w = t.openVolume("a");
      assertThatThrownBy(() -> t.openVolume("a")).isInstanceOf(VolumeLockedException.class);
      assertThatThrownBy(() -> t.deleteVolume("a")).isInstanceOf(VolumeLockedException.class);
      assertThatThrownBy(() -> w.write(-4, ByteBuffer.allocate(1)))
          .hasMessageContaining("offset < 0: -4");
      assertThatThrownBy(() -> w.read(1 << 20, ByteBuffer.allocate(1)))
          .hasMessageContaining("past the end");
      assertThat(w.readAsync(-1, ByteBuffer.allocate(1))).isCompletedExceptionally();
      try (BlockVolume ro = t.openVolumeReadOnly("a")) {
        assertThatThrownBy(() -> ro.write(0, ByteBuffer.allocate(1)))
            .extracting(e -> ((TorusException) e).code()).isEqualTo(ErrorCode.EPERM);
      }
      t.resizeVolume("a", 2 << 20);
      assertThat(w.size()).as("open handle sees growth").isEqualTo(2 << 20);
      assertThatThrownBy(() -> t.resizeVolume("a", 1 << 20)).isInstanceOf(TorusException.class);
      w.write((2 << 20) - 4096, ByteBuffer.wrap(new byte[4096]));
      w.close();
      assertThatThrownBy(() -> w.write(0, ByteBuffer.allocate(1)))
          .isInstanceOf(TorusClosedException.class);
      t.deleteVolume("a");
      assertThat(t.volumes()).isEmpty();
    }
  }

  @Test
  void fencedVolumeRefusesWritesAndFlushes() {
    try (Torus t = Torus.builder().build()) {
      t.createVolume(spec("f"));
      BlockVolume v = t.openVolume("f");
      v.write(0, ByteBuffer.wrap(new byte[] {1}));
      ((io.torus.internal.volume.VolumeEngine) v).fence(new LeaseLostException("test"));
      assertThatThrownBy(v::flush).isInstanceOf(LeaseLostException.class);
      assertThatThrownBy(() -> v.write(0, ByteBuffer.allocate(1)))
          .isInstanceOf(LeaseLostException.class);
      v.close(); // releases the lock without committing
      try (BlockVolume again = t.openVolume("f")) {
        ByteBuffer b = ByteBuffer.allocate(1);
        again.read(0, b);
        assertThat(b.get(0)).as("unflushed write of the fenced writer").isZero();
      }
    }
  }

  @Test
  void metricsCountOperations() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (Torus t = Torus.builder().meterRegistry(registry).build()) {
      t.createVolume(spec("m"));
      try (BlockVolume v = t.openVolume("m")) {
        v.write(0, ByteBuffer.allocate(8192));
        v.read(0, ByteBuffer.allocate(100));
        v.flush();
        assertThat(registry.get("torus.volume.latency").tag("op", "write").timer().count())
            .isEqualTo(1);
        assertThat(registry.get("torus.volume.bytes").tag("op", "read").counter().count())
            .isEqualTo(100);
        assertThat(registry.get("torus.volume.latency").tag("op", "flush").timer().count())
            .isEqualTo(1);
        assertThatThrownBy(() -> v.write(1 << 20, ByteBuffer.allocate(1)));
      }
      assertThat(registry.find("torus.volume.latency").timers()).as("removed on close")
          .isEmpty();
      assertThat(registry.get("torus.store.capacity").gauge().value()).isPositive();
    }
    assertThat(registry.getMeters()).as("node meters removed on close").isEmpty();
  }
}
