package io.torus.examples.csi;

import csi.v1.Csi.CreateVolumeRequest;
import csi.v1.Csi.VolumeContentSource;
import io.torus.ClusterAdmin;
import io.torus.Torus;
import io.torus.VolumeInfo;
import io.torus.VolumeNotFoundException;
import io.torus.VolumeSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * Creates the volume of one CreateVolume call that found no volume of its name: empty, from a
 * snapshot (a clone of it, grown to the size asked for), or from another volume (a snapshot of
 * its last flushed content, cloned, then the snapshot dropped: the clone keeps its blocks).
 * Every new volume gets the parameters' I/O limits (a clone's replace those it inherited).
 * The caller holds the controller's lock.
 *
 * <p>Encrypted volumes ({@code encrypted: "true"}): a new one is created with a data key
 * wrapped by the key-encryption key of the call's secrets. A clone of an encrypted volume is
 * encrypted with its origin's KEK, which the secrets must hold (else PERMISSION_DENIED naming
 * the KEK id needed); cloning needs the KEK itself (the clone's new data key is wrapped by
 * it), which the plugin's shared client-only node does not hold, so the clone is made by a
 * {@code torus volume clone --key-env} child process of the plugin with the key in its
 * environment ({@link CsiConfig#torusCommand}). Snapshots, resizing and I/O limits need no
 * key.
 */
final class VolumeCreation {
  private final Torus torus;
  private final VolumeParameters params;
  private final SecretKek key;
  private final CsiConfig config;

  /**
   * @param key the KEK of the call's secrets: required (non-null) when {@code params} ask for
   *     encryption, else unused
   */
  VolumeCreation(Torus torus, VolumeParameters params, SecretKek key, CsiConfig config) {
    this.torus = torus;
    this.params = params;
    this.key = key;
    this.config = config;
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
          + redundancy(origin) + ", " + origin.blockSize() + "-byte blocks, "
          + (origin.encrypted() ? "encrypted" : "not encrypted") + "), not the one the"
          + " parameters ask for");
    }
    VolumeInfo clone = origin.encrypted() ? cloneEncrypted(origin, snapshot, name)
        : torus.cloneVolume(volume, snapshot, name);
    if (!clone.qos().equals(params.qos())) {
      clone = torus.setVolumeQos(name, params.qos());
    }
    long want = request.getCapacityRange().getRequiredBytes() > 0 ? size : snapSize;
    return clone.size() < want ? torus.resizeVolume(name, want) : clone;
  }

  /**
   * Clones the encrypted {@code origin} in a {@code torus volume clone} child given the KEK
   * in its environment; the child's output never holds the key.
   */
  private VolumeInfo cloneEncrypted(VolumeInfo origin, String snapshot, String name) {
    key.checkOpens(origin); // PERMISSION_DENIED before a process is started
    List<String> cmd = new ArrayList<>(config.torusCommand("volume", "clone"));
    cmd.addAll(List.of("--key-env", SecretKek.ENV,
        Names.snapshotId(origin.name(), snapshot), name));
    Host.Result r = Host.run(cmd, key.environment());
    if (!r.ok()) {
      if (r.output().contains("is encrypted with key")) {
        throw SecretKek.denied("cloning " + origin.name() + ": " + r.output());
      }
      throw CsiErrors.internal("torus volume clone " + Names.snapshotId(origin.name(), snapshot)
          + " " + name + " failed (exit " + r.exit() + "): " + r.output());
    }
    return torus.volume(name);
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
    if (params.encrypted()) {
      b.encryption(key.provider());
    }
    return b.qos(params.qos()).build();
  }
}
