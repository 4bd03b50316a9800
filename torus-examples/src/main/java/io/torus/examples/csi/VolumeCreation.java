package io.torus.examples.csi;

import csi.v1.Csi.CreateVolumeRequest;
import csi.v1.Csi.VolumeContentSource;
import io.torus.ClusterAdmin;
import io.torus.Torus;
import io.torus.VolumeInfo;
import io.torus.VolumeNotFoundException;
import io.torus.VolumeSpec;

/**
 * Creates the volume of one CreateVolume call that found no volume of its name: empty, from a
 * snapshot (a clone of it, grown to the size asked for), or from another volume (a snapshot of
 * its last flushed content, cloned, then the snapshot dropped: the clone keeps its blocks).
 * Every new volume gets the parameters' I/O limits (a clone's replace those it inherited).
 * The caller holds the controller's lock.
 */
final class VolumeCreation {
  private final Torus torus;
  private final VolumeParameters params;

  VolumeCreation(Torus torus, VolumeParameters params) {
    this.torus = torus;
    this.params = params;
  }

  VolumeInfo create(String name, long size, CreateVolumeRequest request) {
    if (!request.hasVolumeContentSource()) {
      return torus.createVolume(spec(name, size));
    }
    VolumeContentSource src = request.getVolumeContentSource();
    if (src.hasSnapshot()) {
      String id = CsiErrors.required("snapshot_id", src.getSnapshot().getSnapshotId());
      String[] snap = Names.parseSnapshotId(id);
      if (snap == null) {
        throw CsiErrors.notFound("no snapshot " + id);
      }
      return fromSnapshot(name, size, request, snap[0], snap[1]);
    }
    if (src.hasVolume()) {
      String from = CsiErrors.required("volume_id", src.getVolume().getVolumeId());
      if (!Names.validVolumeId(from) || ControllerService.find(torus, from) == null) {
        throw CsiErrors.notFound("no volume " + from);
      }
      String temp = Names.torusName("csi-clone-" + name);
      torus.createSnapshot(from, temp);
      try {
        return fromSnapshot(name, size, request, from, temp);
      } finally {
        torus.deleteSnapshot(from, temp);
      }
    }
    throw CsiErrors.invalid("volume_content_source names neither a snapshot nor a volume");
  }

  private VolumeInfo fromSnapshot(String name, long size, CreateVolumeRequest request,
      String volume, String snapshot) {
    long snapSize;
    try {
      snapSize = torus.snapshots(volume).stream().filter(s -> s.name().equals(snapshot))
          .findFirst().orElseThrow(() -> new VolumeNotFoundException("no snapshot "
              + Names.snapshotId(volume, snapshot))).size();
    } catch (VolumeNotFoundException e) {
      throw CsiErrors.notFound("no snapshot " + Names.snapshotId(volume, snapshot));
    }
    long limit = request.getCapacityRange().getLimitBytes();
    if (limit > 0 && snapSize > limit) {
      throw CsiErrors.outOfRange("the source has " + snapSize + " bytes, more than limit_bytes "
          + limit);
    }
    VolumeInfo origin = torus.volume(volume);
    if (!params.matches(origin)) {
      throw CsiErrors.invalid("a volume made from " + volume + " has its layout ("
          + redundancy(origin) + ", " + origin.blockSize() + "-byte blocks), not the"
          + " one the parameters ask for");
    }
    VolumeInfo clone = torus.cloneVolume(volume, snapshot, name);
    if (!clone.qos().equals(params.qos())) {
      clone = torus.setVolumeQos(name, params.qos());
    }
    long want = request.getCapacityRange().getRequiredBytes() > 0 ? size : snapSize;
    return clone.size() < want ? torus.resizeVolume(name, want) : clone;
  }

  /** How a volume keeps its data, for messages: "2 copies" or "erasure 4+2". */
  static String redundancy(VolumeInfo v) {
    return v.erasure() != null ? "erasure " + v.erasure() : v.replication() + " copies";
  }

  private VolumeSpec spec(String name, long size) {
    ClusterAdmin.Defaults d = torus.cluster().defaults().orElse(null);
    VolumeSpec.Builder b = VolumeSpec.builder(name, size);
    io.torus.Erasure erasure = params.erasure() != null ? params.erasure()
        : params.replication() == 0 && d != null ? d.erasure() : null;
    if (erasure != null) {
      b.erasure(erasure);
    } else {
      b.replication(params.replication() > 0 ? params.replication()
          : d != null ? d.replication() : VolumeSpec.DEFAULT_REPLICATION);
    }
    b.blockSize(params.blockSize() > 0 ? params.blockSize()
        : d != null ? d.blockSize() : VolumeSpec.DEFAULT_BLOCK_SIZE);
    return b.qos(params.qos()).build();
  }
}
