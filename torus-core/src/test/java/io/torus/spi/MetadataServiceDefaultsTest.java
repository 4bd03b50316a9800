package io.torus.spi;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.VolumeInfo;
import io.torus.VolumeSpec;
import java.util.List;
import java.util.Optional;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;

/** A third-party service written before snapshots existed answers ENOTSUP, not wrongly. */
class MetadataServiceDefaultsTest {
  /** Implements only the methods every metadata service had from the start. */
  private static final class Minimal implements MetadataService {
    @Override
    public VolumeInfo createVolume(VolumeSpec spec) {
      throw new UnsupportedOperationException();
    }

    @Override
    public Optional<VolumeInfo> volume(String name) {
      return Optional.empty();
    }

    @Override
    public List<VolumeInfo> volumes() {
      return List.of();
    }

    @Override
    public VolumeInfo resizeVolume(String name, long newSize) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void deleteVolume(String name) {}

    @Override
    public Head head(long volumeId) {
      throw new UnsupportedOperationException();
    }

    @Override
    public VolumeLock lockVolume(long volumeId, String holder) {
      throw new UnsupportedOperationException();
    }

    @Override
    public Head commitHead(VolumeLock lock, Head expected, BlockRef root, long generation) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void unlock(VolumeLock lock) {}

    @Override
    public void close() {}
  }

  @Test
  void snapshotMethodsAreNotSupportedByDefault() {
    MetadataService m = new Minimal();
    List<ThrowingCallable> calls = List.of(() -> m.createSnapshot("v", "s"),
        () -> m.snapshots("v"), () -> m.snapshot("v", "s"), () -> m.deleteSnapshot("v", "s"),
        () -> m.restoreSnapshot("v", "s"), () -> m.createClone("c", "v", "s"),
        () -> m.cloneOrigin("v"), m::liveRoots);
    for (ThrowingCallable c : calls) {
      assertThatThrownBy(c).isInstanceOf(TorusException.class)
          .hasMessageContaining("does not support")
          .satisfies(e -> org.assertj.core.api.Assertions.assertThat(
              ((TorusException) e).code()).isEqualTo(ErrorCode.ENOTSUP));
    }
  }

  @Test
  void qosLimitsAreNotSupportedByDefault() {
    MetadataService m = new Minimal();
    assertThatThrownBy(() -> m.setVolumeQos("v", new io.torus.VolumeQos(1, 0, 0, 0)))
        .isInstanceOf(TorusException.class)
        .hasMessage("this metadata service does not support volume QoS limits")
        .satisfies(e -> org.assertj.core.api.Assertions.assertThat(
            ((TorusException) e).code()).isEqualTo(ErrorCode.ENOTSUP));
  }
}
