package io.torus.examples.csi;

import static org.assertj.core.api.Assertions.assertThat;

import csi.v1.Csi.CapacityRange;
import csi.v1.Csi.ControllerExpandVolumeRequest;
import csi.v1.Csi.CreateSnapshotRequest;
import csi.v1.Csi.CreateVolumeRequest;
import csi.v1.Csi.CreateVolumeResponse;
import csi.v1.Csi.VolumeCapability;
import csi.v1.Csi.VolumeContentSource;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.torus.Torus;
import io.torus.VolumeQos;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The controller over an in-process local node: the QoS StorageClass parameters reach the
 * volume (and a clone made for a content source), and the capacity guard's refusal is
 * RESOURCE_EXHAUSTED.
 */
class ControllerLimitsTest {
  private static final long MIB = 1 << 20;

  @TempDir
  Path dir;

  /** Captures one unary answer. */
  private static final class Answer<T> implements StreamObserver<T> {
    final CompletableFuture<T> result = new CompletableFuture<>();

    @Override
    public void onNext(T value) {
      result.complete(value);
    }

    @Override
    public void onError(Throwable t) {
      result.completeExceptionally(t);
    }

    @Override
    public void onCompleted() {}

    T get() throws Exception {
      return result.get(30, TimeUnit.SECONDS);
    }

    Status.Code code() {
      try {
        result.get(30, TimeUnit.SECONDS);
        return Status.Code.OK;
      } catch (java.util.concurrent.ExecutionException e) {
        return ((StatusRuntimeException) e.getCause()).getStatus().getCode();
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    }
  }

  private static CreateVolumeRequest.Builder request(String name, long size) {
    return CreateVolumeRequest.newBuilder().setName(name)
        .setCapacityRange(CapacityRange.newBuilder().setRequiredBytes(size))
        .addVolumeCapabilities(VolumeCapability.newBuilder()
            .setMount(VolumeCapability.MountVolume.getDefaultInstance())
            .setAccessMode(VolumeCapability.AccessMode.newBuilder()
                .setMode(VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER)));
  }

  @Test
  void qosParametersReachTheVolumeAndTheGuardIsResourceExhausted() throws Exception {
    try (Torus torus = Torus.builder().storeCapacity(64 * MIB).build()) { // limit 256 MiB
      CsiConfig config = new CsiConfig("csi.torus.io", "test", true, false, "n1",
          dir.resolve("state"), "torus", 0, 16 * MIB, 0, List.of("torus"));
      ControllerService c = new ControllerService(config, new ClusterAccess(() -> torus, 0));
      Map<String, String> limited = Map.of("replication", "1", "readIops", "2000",
          "writeIops", "1000", "readBytesPerSecond", "200MiB", "writeBytesPerSecond", "0");
      Answer<CreateVolumeResponse> a = new Answer<>();
      c.createVolume(request("pvc-limited", 100 * MIB).putAllParameters(limited).build(), a);
      String id = a.get().getVolume().getVolumeId();
      VolumeQos qos = new VolumeQos(2000, 1000, 200 * MIB, 0);
      assertThat(torus.volume(id).qos()).isEqualTo(qos);

      // the same request again: the same volume (limits changed since are not compared)
      torus.setVolumeQos(id, VolumeQos.UNLIMITED);
      Answer<CreateVolumeResponse> again = new Answer<>();
      c.createVolume(request("pvc-limited", 100 * MIB).putAllParameters(limited).build(),
          again);
      assertThat(again.get().getVolume().getVolumeId()).isEqualTo(id);
      torus.setVolumeQos(id, qos);

      // a clone for a content source gets the parameters' limits, not its origin's
      Answer<csi.v1.Csi.CreateSnapshotResponse> snap = new Answer<>();
      c.createSnapshot(CreateSnapshotRequest.newBuilder().setName("s1")
          .setSourceVolumeId(id).build(), snap);
      String snapId = snap.get().getSnapshot().getSnapshotId();
      Answer<CreateVolumeResponse> clone = new Answer<>();
      c.createVolume(request("pvc-clone", 100 * MIB).putAllParameters(Map.of("replication",
          "1", "writeIops", "50")).setVolumeContentSource(VolumeContentSource.newBuilder()
          .setSnapshot(VolumeContentSource.SnapshotSource.newBuilder()
              .setSnapshotId(snapId))).build(), clone);
      assertThat(torus.volume(clone.get().getVolume().getVolumeId()).qos())
          .isEqualTo(new VolumeQos(0, 50, 0, 0));

      // 200 MiB provisioned of 256: another 100 MiB, or growing one by that, is refused
      Answer<CreateVolumeResponse> full = new Answer<>();
      c.createVolume(request("pvc-full", 100 * MIB).putAllParameters(Map.of("replication",
          "1")).build(), full);
      assertThat(full.code()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
      assertThat(full.result.handle((v, t) -> t.getMessage()).get())
          .contains("creating volume 'pvc-full'").contains("refused");
      Answer<csi.v1.Csi.ControllerExpandVolumeResponse> grow = new Answer<>();
      c.controllerExpandVolume(ControllerExpandVolumeRequest.newBuilder().setVolumeId(id)
          .setCapacityRange(CapacityRange.newBuilder().setRequiredBytes(200 * MIB)).build(),
          grow);
      assertThat(grow.code()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
      assertThat(torus.volumes()).hasSize(2);
    }
  }
}
