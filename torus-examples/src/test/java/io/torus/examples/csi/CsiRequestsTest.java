package io.torus.examples.csi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import csi.v1.Csi.CapacityRange;
import csi.v1.Csi.VolumeCapability;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.torus.VolumeInfo;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The pure parts of the CSI driver: sizes from capacity ranges, names, parameters. */
class CsiRequestsTest {
  private static final long GIB = 1L << 30;

  private static CapacityRange range(long required, long limit) {
    return CapacityRange.newBuilder().setRequiredBytes(required).setLimitBytes(limit).build();
  }

  private static Status.Code code(Runnable r) {
    StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class, r::run);
    assertThat(e).as("fails").isNotNull();
    return e.getStatus().getCode();
  }

  @Test
  void sizesFromCapacityRanges() {
    assertThat(Sizes.choose(CapacityRange.getDefaultInstance(), false, GIB)).isEqualTo(GIB);
    assertThat(Sizes.choose(range(1, 0), true, GIB)).isEqualTo(4096);
    assertThat(Sizes.choose(range(4097, 0), true, GIB)).isEqualTo(8192);
    assertThat(Sizes.choose(range(4097, 5000), true, GIB)).isEqualTo(4608);
    assertThat(Sizes.choose(range(0, 10_000), true, GIB)).isEqualTo(8192);
    assertThat(Sizes.choose(range(0, 1000), true, GIB)).isEqualTo(512);
    assertThat(code(() -> Sizes.choose(range(0, 511), true, GIB)))
        .isEqualTo(Status.Code.OUT_OF_RANGE);
    assertThat(Sizes.choose(range(0, 2 * GIB), true, GIB)).isEqualTo(GIB);
    assertThat(code(() -> Sizes.choose(range(100, 200), true, GIB)))
        .isEqualTo(Status.Code.OUT_OF_RANGE);
    assertThat(code(() -> Sizes.choose(range(300, 200), true, GIB)))
        .isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(code(() -> Sizes.choose(range(0, -1), true, GIB)))
        .isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(Sizes.fits(GIB, range(GIB, 0))).isTrue();
    assertThat(Sizes.fits(GIB, range(0, GIB - 1))).isFalse();
    assertThat(Sizes.parse("blockSize", "64KiB")).isEqualTo(65536);
    assertThat(Sizes.parse("blockSize", "4096")).isEqualTo(4096);
    assertThat(Sizes.parse("blockSize", "1 M")).isEqualTo(1 << 20);
    assertThat(code(() -> Sizes.parse("blockSize", "lots")))
        .isEqualTo(Status.Code.INVALID_ARGUMENT);
  }

  @Test
  void namesAndIds() {
    assertThat(Names.torusName("pvc-0f1e2d3c-aaaa-bbbb-cccc-000011112222"))
        .isEqualTo("pvc-0f1e2d3c-aaaa-bbbb-cccc-000011112222");
    String hashed = Names.torusName("my volume/1");
    assertThat(hashed).startsWith("csi-").hasSize(44).isEqualTo(Names.torusName("my volume/1"));
    assertThat(Names.torusName("my volume/2")).isNotEqualTo(hashed);
    assertThat(Names.torusName("-starts-with-dash")).startsWith("csi-");
    assertThat(Names.parseSnapshotId("vol@snap")).containsExactly("vol", "snap");
    assertThat(Names.parseSnapshotId("vol")).isNull();
    assertThat(Names.parseSnapshotId("@snap")).isNull();
    assertThat(Names.parseSnapshotId("a@b@c")).isNull();
  }

  @Test
  void parametersAndCapabilities() {
    VolumeParameters p = VolumeParameters.parse(Map.of("replication", "3", "blockSize", "1MiB",
        "csi.storage.k8s.io/pv/name", "pv-1"));
    assertThat(p).isEqualTo(new VolumeParameters(3, 1 << 20, null));
    assertThat(p.matches(new VolumeInfo(1, "v", GIB, 1 << 20, 3, Instant.EPOCH))).isTrue();
    assertThat(p.matches(new VolumeInfo(1, "v", GIB, 16384, 3, Instant.EPOCH))).isFalse();
    assertThat(VolumeParameters.parse(Map.of())).isEqualTo(new VolumeParameters(0, 0, null));
    VolumeParameters ec = VolumeParameters.parse(Map.of("erasure", "4+2"));
    assertThat(ec.erasure()).isEqualTo(new io.torus.Erasure(4, 2));
    assertThat(ec.overhead(2, null)).isEqualTo(1.5);
    assertThat(ec.matches(new VolumeInfo(1, "v", GIB, 16384, 3, Instant.EPOCH, null,
        new io.torus.Erasure(4, 2)))).isTrue();
    assertThat(ec.matches(new VolumeInfo(1, "v", GIB, 16384, 3, Instant.EPOCH))).isFalse();
    assertThat(VolumeParameters.parse(Map.of("replication", "3")).matches(new VolumeInfo(1,
        "v", GIB, 16384, 3, Instant.EPOCH, null, new io.torus.Erasure(4, 2)))).isFalse();
    VolumeParameters limited = VolumeParameters.parse(Map.of("readIops", "500", "writeIops",
        "0", "readBytesPerSecond", "100MiB", "writeBytesPerSecond", "52428800"));
    assertThat(limited.qos()).isEqualTo(new io.torus.VolumeQos(500, 0, 100L << 20, 50L << 20));
    assertThat(limited.matches(new VolumeInfo(1, "v", GIB, 16384, 2, Instant.EPOCH)))
        .as("limits are not layout").isTrue();
    assertThat(VolumeParameters.parse(Map.of("writeBytesPerSecond", "0")).qos())
        .isEqualTo(io.torus.VolumeQos.UNLIMITED);
    assertThat(VolumeParameters.parse(Map.of()).qos()).isEqualTo(io.torus.VolumeQos.UNLIMITED);
    for (Map<String, String> bad : java.util.List.of(Map.of("replication", "0"),
        Map.of("replication", "x"), Map.of("blockSize", "3000"), Map.of("qos", "1"),
        Map.of("erasure", "4x2"), Map.of("erasure", "4+2", "replication", "2"),
        Map.of("readIops", "-1"), Map.of("writeIops", "many"), Map.of("readIops",
        "1125899906842625"), Map.of("readBytesPerSecond", "fast"),
        Map.of("writeBytesPerSecond", "-5"))) {
      assertThat(code(() -> VolumeParameters.parse(bad))).as("%s", bad)
          .isEqualTo(Status.Code.INVALID_ARGUMENT);
    }
    VolumeCapability.AccessMode writer = VolumeCapability.AccessMode.newBuilder()
        .setMode(VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER).build();
    assertThat(Capabilities.unsupported(VolumeCapability.newBuilder()
        .setMount(VolumeCapability.MountVolume.getDefaultInstance()).setAccessMode(writer)
        .build())).isNull();
    assertThat(Capabilities.unsupported(VolumeCapability.newBuilder().setAccessMode(writer)
        .build())).contains("access type");
    assertThat(Capabilities.unsupported(VolumeCapability.newBuilder()
        .setMount(VolumeCapability.MountVolume.newBuilder().setFsType("ntfs"))
        .setAccessMode(writer).build())).contains("ntfs");
    assertThat(Capabilities.unsupported(VolumeCapability.newBuilder()
        .setBlock(VolumeCapability.BlockVolume.getDefaultInstance())
        .setAccessMode(VolumeCapability.AccessMode.newBuilder().setModeValue(7)).build()))
        .as("SINGLE_NODE_MULTI_WRITER of CSI 1.5").isNull();
  }
}
