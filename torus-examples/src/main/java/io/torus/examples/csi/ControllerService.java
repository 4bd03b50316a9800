package io.torus.examples.csi;

import com.google.protobuf.Timestamp;
import csi.v1.ControllerGrpc;
import csi.v1.Csi.ControllerExpandVolumeRequest;
import csi.v1.Csi.ControllerExpandVolumeResponse;
import csi.v1.Csi.ControllerGetCapabilitiesRequest;
import csi.v1.Csi.ControllerGetCapabilitiesResponse;
import csi.v1.Csi.ControllerServiceCapability;
import csi.v1.Csi.CreateSnapshotRequest;
import csi.v1.Csi.CreateSnapshotResponse;
import csi.v1.Csi.CreateVolumeRequest;
import csi.v1.Csi.CreateVolumeResponse;
import csi.v1.Csi.DeleteSnapshotRequest;
import csi.v1.Csi.DeleteSnapshotResponse;
import csi.v1.Csi.DeleteVolumeRequest;
import csi.v1.Csi.DeleteVolumeResponse;
import csi.v1.Csi.GetCapacityRequest;
import csi.v1.Csi.GetCapacityResponse;
import csi.v1.Csi.ListSnapshotsRequest;
import csi.v1.Csi.ListSnapshotsResponse;
import csi.v1.Csi.ListVolumesRequest;
import csi.v1.Csi.ListVolumesResponse;
import csi.v1.Csi.Snapshot;
import csi.v1.Csi.Topology;
import csi.v1.Csi.ValidateVolumeCapabilitiesRequest;
import csi.v1.Csi.ValidateVolumeCapabilitiesResponse;
import csi.v1.Csi.Volume;
import csi.v1.Csi.VolumeCapability;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.torus.ClusterAdmin;
import io.torus.SnapshotInfo;
import io.torus.Torus;
import io.torus.VolumeInfo;
import io.torus.VolumeLockedException;
import io.torus.VolumeNotFoundException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Function;

/**
 * The CSI Controller service over the public Torus API: volumes (created thin, idempotent by
 * name, from a snapshot or as a clone of another volume), snapshots, expansion, listing and
 * capacity. ControllerPublish/Unpublish are not offered (no PUBLISH_UNPUBLISH_VOLUME
 * capability: the node plugin attaches a volume itself) and answer UNIMPLEMENTED.
 *
 * <p>StorageClass parameters: {@code replication} (copies of each block, 1–16) or
 * {@code erasure} (Reed–Solomon, e.g. {@code 4+2}), and
 * {@code blockSize} (a power of two from 4 KiB to 4 MiB, e.g. {@code 16KiB}); without them a
 * volume gets the cluster's defaults. {@code encrypted: "true"} encrypts it at rest with the
 * key-encryption key of CreateVolume's secrets ({@link SecretKek}; none: INVALID_ARGUMENT);
 * no other call needs a key. Keys starting {@code csi.storage.k8s.io/} are ignored;
 * any other key is refused (INVALID_ARGUMENT).
 *
 * <p>Concurrency: calls that change volumes or snapshots run one at a time (a lock of this
 * service), so two calls for one name cannot both create it.
 */
final class ControllerService extends ControllerGrpc.ControllerImplBase {
  private final CsiConfig config;
  private final ClusterAccess cluster;
  private final Object changes = new Object();

  ControllerService(CsiConfig config, ClusterAccess cluster) {
    this.config = config;
    this.cluster = cluster;
  }

  @Override
  public void controllerGetCapabilities(ControllerGetCapabilitiesRequest request,
      StreamObserver<ControllerGetCapabilitiesResponse> observer) {
    CsiErrors.answer("ControllerGetCapabilities", observer, () -> {
      ControllerGetCapabilitiesResponse.Builder b = ControllerGetCapabilitiesResponse.newBuilder();
      for (ControllerServiceCapability.RPC.Type t : List.of(
          ControllerServiceCapability.RPC.Type.CREATE_DELETE_VOLUME,
          ControllerServiceCapability.RPC.Type.LIST_VOLUMES,
          ControllerServiceCapability.RPC.Type.GET_CAPACITY,
          ControllerServiceCapability.RPC.Type.CREATE_DELETE_SNAPSHOT,
          ControllerServiceCapability.RPC.Type.LIST_SNAPSHOTS,
          ControllerServiceCapability.RPC.Type.CLONE_VOLUME,
          ControllerServiceCapability.RPC.Type.EXPAND_VOLUME)) {
        b.addCapabilities(ControllerServiceCapability.newBuilder()
            .setRpc(ControllerServiceCapability.RPC.newBuilder().setType(t)));
      }
      return b.build();
    });
  }

  @Override
  public void createVolume(CreateVolumeRequest request,
      StreamObserver<CreateVolumeResponse> observer) {
    CsiErrors.answer("CreateVolume", observer, () -> {
      CsiErrors.required("name", request.getName());
      Capabilities.check(request.getVolumeCapabilitiesList());
      VolumeParameters params = VolumeParameters.parse(request.getParametersMap());
      SecretKek key = params.encrypted() ? SecretKek.require(request.getSecretsMap(),
          "an encrypted volume (parameter encrypted: \"true\")") : null;
      checkTopology(request);
      long size = Sizes.choose(request.getCapacityRange(), request.hasCapacityRange(),
          config.defaultSize());
      String name = Names.torusName(request.getName());
      synchronized (changes) {
        Torus torus = cluster.torus();
        VolumeInfo v = find(torus, name);
        if (v == null) {
          v = new VolumeCreation(torus, params, key, config).create(name, size, request);
        } else if (!Sizes.fits(v.size(), request.getCapacityRange()) || !params.matches(v)
            || key != null && !key.id().equals(v.encryption().kekId())) {
          throw CsiErrors.exists("volume " + name + " exists with " + v.size() + " bytes, "
              + VolumeCreation.redundancy(v) + ", " + v.blockSize() + "-byte blocks, "
              + (v.encrypted() ? "encrypted with key " + v.encryption().kekId()
                  : "not encrypted") + ", which this request does not accept");
        }
        Volume.Builder out = volume(v).toBuilder();
        if (request.hasVolumeContentSource()) {
          out.setContentSource(request.getVolumeContentSource());
        }
        return CreateVolumeResponse.newBuilder().setVolume(out).build();
      }
    });
  }

  private void checkTopology(CreateVolumeRequest request) {
    if (!request.hasAccessibilityRequirements()) {
      return;
    }
    List<Topology> requisite = request.getAccessibilityRequirements().getRequisiteList();
    if (!requisite.isEmpty() && requisite.stream().noneMatch(this::ours)) {
      throw Status.RESOURCE_EXHAUSTED.withDescription("this plugin provisions in "
          + CsiConfig.TOPOLOGY_KEY + "=" + config.clusterName() + " only, which no requisite"
          + " topology names").asRuntimeException();
    }
  }

  private boolean ours(Topology t) {
    return config.clusterName().equals(t.getSegmentsMap().get(CsiConfig.TOPOLOGY_KEY));
  }

  /** The volume named {@code name}, or null. */
  static VolumeInfo find(Torus torus, String name) {
    try {
      return torus.volume(name);
    } catch (VolumeNotFoundException e) {
      return null;
    }
  }

  /**
   * The CSI view of {@code v}: id, size, its (immutable) layout as context (encryption: the
   * id of its key-encryption key, never a key, or "none"), topology.
   */
  Volume volume(VolumeInfo v) {
    return Volume.newBuilder().setVolumeId(v.name()).setCapacityBytes(v.size())
        .putVolumeContext("blockSize", Integer.toString(v.blockSize()))
        .putVolumeContext("replication", Integer.toString(v.replication()))
        .putVolumeContext("erasure", v.erasure() == null ? "none" : v.erasure().toString())
        .putVolumeContext("encryption", v.encrypted() ? v.encryption().kekId() : "none")
        .addAccessibleTopology(Topology.newBuilder()
            .putSegments(CsiConfig.TOPOLOGY_KEY, config.clusterName()))
        .build();
  }

  @Override
  public void deleteVolume(DeleteVolumeRequest request,
      StreamObserver<DeleteVolumeResponse> observer) {
    CsiErrors.answer("DeleteVolume", observer, () -> {
      String id = CsiErrors.required("volume_id", request.getVolumeId());
      if (!Names.validVolumeId(id)) {
        return DeleteVolumeResponse.getDefaultInstance(); // no such volume can exist
      }
      synchronized (changes) {
        Torus torus = cluster.torus();
        if (find(torus, id) == null) {
          return DeleteVolumeResponse.getDefaultInstance();
        }
        List<SnapshotInfo> snaps = torus.snapshots(id);
        if (!snaps.isEmpty()) {
          throw CsiErrors.precondition("volume " + id + " has " + snaps.size() + " snapshot(s);"
              + " delete them first (deleting the volume would delete them)");
        }
        try {
          torus.deleteVolume(id);
        } catch (VolumeNotFoundException e) {
          // deleted meanwhile: the outcome asked for
        } catch (VolumeLockedException e) {
          throw CsiErrors.precondition("volume " + id + " is attached (open for writing by "
              + e.holder() + "); unstage it first");
        }
        return DeleteVolumeResponse.getDefaultInstance();
      }
    });
  }

  @Override
  public void validateVolumeCapabilities(ValidateVolumeCapabilitiesRequest request,
      StreamObserver<ValidateVolumeCapabilitiesResponse> observer) {
    CsiErrors.answer("ValidateVolumeCapabilities", observer, () -> {
      String id = CsiErrors.required("volume_id", request.getVolumeId());
      if (request.getVolumeCapabilitiesCount() == 0) {
        throw CsiErrors.invalid("volume_capabilities are required");
      }
      if (!Names.validVolumeId(id) || find(cluster.torus(), id) == null) {
        throw CsiErrors.notFound("no volume " + id);
      }
      for (VolumeCapability c : request.getVolumeCapabilitiesList()) {
        String why = Capabilities.unsupported(c);
        if (why != null) {
          return ValidateVolumeCapabilitiesResponse.newBuilder().setMessage(why).build();
        }
      }
      VolumeParameters.parse(request.getParametersMap());
      return ValidateVolumeCapabilitiesResponse.newBuilder().setConfirmed(
          ValidateVolumeCapabilitiesResponse.Confirmed.newBuilder()
              .addAllVolumeCapabilities(request.getVolumeCapabilitiesList())
              .putAllVolumeContext(request.getVolumeContextMap())
              .putAllParameters(request.getParametersMap())).build();
    });
  }

  @Override
  public void listVolumes(ListVolumesRequest request,
      StreamObserver<ListVolumesResponse> observer) {
    CsiErrors.answer("ListVolumes", observer, () -> {
      List<VolumeInfo> all = new ArrayList<>(cluster.torus().volumes());
      all.sort(Comparator.comparing(VolumeInfo::name));
      ListVolumesResponse.Builder b = ListVolumesResponse.newBuilder();
      String next = page(all, request.getMaxEntries(), request.getStartingToken(),
          v -> b.addEntries(ListVolumesResponse.Entry.newBuilder().setVolume(volume(v))));
      return b.setNextToken(next).build();
    });
  }

  /**
   * Hands the page of {@code all} that starts at {@code token} (an index; empty: 0) and holds
   * at most {@code max} (0: all) to {@code sink}; returns the next page's token ("" at the end).
   */
  static <T> String page(List<T> all, int max, String token, Function<T, ?> sink) {
    if (max < 0) {
      throw CsiErrors.invalid("max_entries must not be negative: " + max);
    }
    int start;
    try {
      start = token.isEmpty() ? 0 : Integer.parseInt(token);
    } catch (NumberFormatException e) {
      start = -1;
    }
    if (start < 0 || start > all.size()) {
      throw Status.ABORTED.withDescription("starting_token '" + token + "' is not one this"
          + " plugin gave").asRuntimeException();
    }
    int end = max == 0 ? all.size() : Math.min(all.size(), start + max);
    for (T t : all.subList(start, end)) {
      sink.apply(t);
    }
    return end < all.size() ? Integer.toString(end) : "";
  }

  @Override
  public void getCapacity(GetCapacityRequest request,
      StreamObserver<GetCapacityResponse> observer) {
    CsiErrors.answer("GetCapacity", observer, () -> {
      for (VolumeCapability c : request.getVolumeCapabilitiesList()) {
        if (Capabilities.unsupported(c) != null) {
          return GetCapacityResponse.newBuilder().setAvailableCapacity(0).build();
        }
      }
      if (request.hasAccessibleTopology() && !ours(request.getAccessibleTopology())) {
        return GetCapacityResponse.newBuilder().setAvailableCapacity(0).build();
      }
      Torus torus = cluster.torus();
      VolumeParameters params = VolumeParameters.parse(request.getParametersMap());
      ClusterAdmin.Defaults d = torus.cluster().defaults().orElse(null);
      double copies = params.overhead(d != null ? d.replication()
          : io.torus.VolumeSpec.DEFAULT_REPLICATION, d != null ? d.erasure() : null);
      long free = 0;
      for (ClusterAdmin.PeerInfo p : torus.cluster().peers()) {
        if (p.up()) {
          free += Math.max(0, p.capacityBytes() - p.usedBytes());
        }
      }
      return GetCapacityResponse.newBuilder().setAvailableCapacity((long) (free / copies))
          .build();
    });
  }

  @Override
  public void controllerExpandVolume(ControllerExpandVolumeRequest request,
      StreamObserver<ControllerExpandVolumeResponse> observer) {
    CsiErrors.answer("ControllerExpandVolume", observer, () -> {
      String id = CsiErrors.required("volume_id", request.getVolumeId());
      if (!request.hasCapacityRange()) {
        throw CsiErrors.invalid("capacity_range is required");
      }
      long size = Sizes.choose(request.getCapacityRange(), true, config.defaultSize());
      synchronized (changes) {
        Torus torus = cluster.torus();
        VolumeInfo v = Names.validVolumeId(id) ? find(torus, id) : null;
        if (v == null) {
          throw CsiErrors.notFound("no volume " + id);
        }
        if (v.size() < size) {
          v = torus.resizeVolume(id, size);
        } else if (!Sizes.fits(v.size(), request.getCapacityRange())) {
          throw CsiErrors.outOfRange("volume " + id + " has " + v.size() + " bytes already,"
              + " past limit_bytes; volumes do not shrink");
        }
        return ControllerExpandVolumeResponse.newBuilder().setCapacityBytes(v.size())
            .setNodeExpansionRequired(true).build();
      }
    });
  }

  @Override
  public void createSnapshot(CreateSnapshotRequest request,
      StreamObserver<CreateSnapshotResponse> observer) {
    CsiErrors.answer("CreateSnapshot", observer, () -> {
      String source = CsiErrors.required("source_volume_id", request.getSourceVolumeId());
      String name = Names.torusName(CsiErrors.required("name", request.getName()));
      synchronized (changes) {
        Torus torus = cluster.torus();
        if (!Names.validVolumeId(source) || find(torus, source) == null) {
          throw CsiErrors.notFound("no volume " + source);
        }
        for (SnapshotInfo s : allSnapshots(torus)) {
          if (s.name().equals(name)) {
            if (!s.volume().equals(source)) {
              throw CsiErrors.exists("snapshot " + name + " exists, of volume " + s.volume());
            }
            return CreateSnapshotResponse.newBuilder().setSnapshot(snapshot(s)).build();
          }
        }
        SnapshotInfo s = torus.createSnapshot(source, name);
        return CreateSnapshotResponse.newBuilder().setSnapshot(snapshot(s)).build();
      }
    });
  }

  static List<SnapshotInfo> allSnapshots(Torus torus) {
    List<SnapshotInfo> out = new ArrayList<>();
    for (VolumeInfo v : torus.volumes()) {
      try {
        out.addAll(torus.snapshots(v.name()));
      } catch (VolumeNotFoundException e) {
        // deleted while listing
      }
    }
    out.sort(Comparator.comparing(SnapshotInfo::fullName));
    return out;
  }

  static Snapshot snapshot(SnapshotInfo s) {
    return Snapshot.newBuilder().setSnapshotId(Names.snapshotId(s.volume(), s.name()))
        .setSourceVolumeId(s.volume()).setSizeBytes(s.size()).setReadyToUse(true)
        .setCreationTime(Timestamp.newBuilder().setSeconds(s.created().getEpochSecond())
            .setNanos(s.created().getNano()))
        .build();
  }

  @Override
  public void deleteSnapshot(DeleteSnapshotRequest request,
      StreamObserver<DeleteSnapshotResponse> observer) {
    CsiErrors.answer("DeleteSnapshot", observer, () -> {
      String[] id = Names.parseSnapshotId(
          CsiErrors.required("snapshot_id", request.getSnapshotId()));
      if (id == null) {
        return DeleteSnapshotResponse.getDefaultInstance(); // no such snapshot can exist
      }
      synchronized (changes) {
        try {
          cluster.torus().deleteSnapshot(id[0], id[1]);
        } catch (VolumeNotFoundException e) {
          // gone already (or its volume is): the outcome asked for
        }
      }
      return DeleteSnapshotResponse.getDefaultInstance();
    });
  }

  @Override
  public void listSnapshots(ListSnapshotsRequest request,
      StreamObserver<ListSnapshotsResponse> observer) {
    CsiErrors.answer("ListSnapshots", observer, () -> {
      Torus torus = cluster.torus();
      List<SnapshotInfo> found = new ArrayList<>();
      if (!request.getSnapshotId().isEmpty()) {
        String[] id = Names.parseSnapshotId(request.getSnapshotId());
        if (id != null) {
          found.addAll(snapshotsOf(torus, id[0]).stream()
              .filter(s -> s.name().equals(id[1])).toList());
        }
      } else if (!request.getSourceVolumeId().isEmpty()) {
        found.addAll(snapshotsOf(torus, request.getSourceVolumeId()));
      } else {
        found.addAll(allSnapshots(torus));
      }
      if (!request.getSourceVolumeId().isEmpty()) {
        found.removeIf(s -> !s.volume().equals(request.getSourceVolumeId()));
      }
      ListSnapshotsResponse.Builder b = ListSnapshotsResponse.newBuilder();
      String next = page(found, request.getMaxEntries(), request.getStartingToken(),
          s -> b.addEntries(ListSnapshotsResponse.Entry.newBuilder().setSnapshot(snapshot(s))));
      return b.setNextToken(next).build();
    });
  }

  private static List<SnapshotInfo> snapshotsOf(Torus torus, String volume) {
    if (!Names.validVolumeId(volume)) {
      return List.of();
    }
    try {
      return torus.snapshots(volume);
    } catch (VolumeNotFoundException e) {
      return List.of();
    }
  }
}
