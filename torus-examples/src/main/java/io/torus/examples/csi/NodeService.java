package io.torus.examples.csi;

import csi.v1.Csi.NodeExpandVolumeRequest;
import csi.v1.Csi.NodeExpandVolumeResponse;
import csi.v1.Csi.NodeGetCapabilitiesRequest;
import csi.v1.Csi.NodeGetCapabilitiesResponse;
import csi.v1.Csi.NodeGetInfoRequest;
import csi.v1.Csi.NodeGetInfoResponse;
import csi.v1.Csi.NodeGetVolumeStatsRequest;
import csi.v1.Csi.NodeGetVolumeStatsResponse;
import csi.v1.Csi.NodePublishVolumeRequest;
import csi.v1.Csi.NodePublishVolumeResponse;
import csi.v1.Csi.NodeServiceCapability;
import csi.v1.Csi.NodeStageVolumeRequest;
import csi.v1.Csi.NodeStageVolumeResponse;
import csi.v1.Csi.NodeUnpublishVolumeRequest;
import csi.v1.Csi.NodeUnpublishVolumeResponse;
import csi.v1.Csi.NodeUnstageVolumeRequest;
import csi.v1.Csi.NodeUnstageVolumeResponse;
import csi.v1.Csi.Topology;
import csi.v1.Csi.VolumeCapability;
import csi.v1.Csi.VolumeUsage;
import csi.v1.NodeGrpc;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Callable;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The CSI Node service: stages a volume by attaching it through its own NBD export and the
 * kernel's NBD client, or nbdfuse and a loop device ({@link Attacher}, {@link AttachMode}),
 * with a file system made on first use and mounted at the staging path; publishes it by bind
 * mount (a directory, or for block access the device at a file); reports usage; grows the
 * file system (offline when it is staged, the volume having grown since; online in
 * NodeExpandVolume, which needs CAP_SYS_RESOURCE).
 *
 * <p>Every call is idempotent: it looks at what exists (the volume's {@link StageState}, the
 * mount table, live processes) and does only what is missing. A call for a volume another
 * call is working on gets ABORTED, as the specification asks.
 *
 * <p>Encrypted volumes: NodeStageVolume takes the key-encryption key from its secrets
 * ({@link SecretKek}); without it INVALID_ARGUMENT, with another key PERMISSION_DENIED, both
 * naming the key id the volume needs, before anything is started.
 */
final class NodeService extends NodeGrpc.NodeImplBase {
  private final CsiConfig config;
  private final ClusterAccess cluster;
  private final Attacher attacher;
  private final ConcurrentHashMap<String, ReentrantLock> locks = new ConcurrentHashMap<>();

  NodeService(CsiConfig config, ClusterAccess cluster) {
    this.config = config;
    this.cluster = cluster;
    this.attacher = new Attacher(config.nbdCommand(), KernelNbd.system());
  }

  private <T> T locked(String volumeId, Callable<T> body) throws Exception {
    ReentrantLock lock = locks.computeIfAbsent(volumeId, k -> new ReentrantLock());
    if (!lock.tryLock()) {
      throw Status.ABORTED.withDescription("another call for volume " + volumeId
          + " is in progress").asRuntimeException();
    }
    try {
      return body.call();
    } finally {
      lock.unlock();
    }
  }

  private static String volumeId(String id) {
    CsiErrors.required("volume_id", id);
    if (!Names.validVolumeId(id)) {
      throw CsiErrors.notFound("no volume " + id);
    }
    return id;
  }

  private static VolumeCapability capability(boolean has, VolumeCapability c) {
    if (!has) {
      throw CsiErrors.invalid("volume_capability is required");
    }
    Capabilities.check(List.of(c));
    return c;
  }

  @Override
  public void nodeStageVolume(NodeStageVolumeRequest request,
      StreamObserver<NodeStageVolumeResponse> observer) {
    CsiErrors.answer("NodeStageVolume", observer, () -> {
      String id = volumeId(request.getVolumeId());
      String staging = CsiErrors.required("staging_target_path",
          request.getStagingTargetPath());
      VolumeCapability cap = capability(request.hasVolumeCapability(),
          request.getVolumeCapability());
      return locked(id, () -> {
        StageState s = StageState.load(config.stateDir(), id);
        String access = cap.hasBlock() ? "block" : "mount";
        if (s != null) {
          if (!s.staging.equals(staging) || !s.access.equals(access)
              || !s.block() && !s.fsType.equals(Capabilities.fsType(cap))) {
            throw CsiErrors.exists("volume " + id + " is staged at " + s.staging + " for "
                + s.access + " access already");
          }
          // finishes what an interrupted call began; no-op when done
          attacher.attach(s, () -> SecretKek.forVolume(cluster.torus().volume(id),
              request.getSecretsMap(), "NodeStageVolume"));
          return NodeStageVolumeResponse.getDefaultInstance();
        }
        // NOT_FOUND, a missing or wrong key, a missing kernel client: before anything starts
        SecretKek key = SecretKek.forVolume(cluster.torus().volume(id),
            request.getSecretsMap(), "NodeStageVolume");
        String attach = attacher.choose(config.attach(),
            config.stateDir().resolve("volumes"));
        s = StageState.create(config.stateDir(), id);
        s.staging = staging;
        s.access = access;
        s.attach = attach;
        if (!cap.hasBlock()) {
          s.fsType = Capabilities.fsType(cap);
          List<String> flags = new java.util.ArrayList<>(cap.getMount().getMountFlagsList());
          if (Capabilities.readOnly(cap)) {
            flags.add("ro"); // SINGLE_NODE_READER_ONLY: the file system is not written
          }
          s.mountFlags = String.join(",", flags);
          Files.createDirectories(Path.of(staging));
        }
        s.save();
        try {
          attacher.attach(s, () -> key);
        } catch (Exception e) {
          try {
            attacher.detach(s);
          } catch (Exception cleanup) {
            e.addSuppressed(cleanup);
          }
          throw e;
        }
        return NodeStageVolumeResponse.getDefaultInstance();
      });
    });
  }

  @Override
  public void nodeUnstageVolume(NodeUnstageVolumeRequest request,
      StreamObserver<NodeUnstageVolumeResponse> observer) {
    CsiErrors.answer("NodeUnstageVolume", observer, () -> {
      String id = volumeId(request.getVolumeId());
      String staging = CsiErrors.required("staging_target_path",
          request.getStagingTargetPath());
      return locked(id, () -> {
        StageState s = StageState.load(config.stateDir(), id);
        if (s == null) {
          return NodeUnstageVolumeResponse.getDefaultInstance(); // not staged: done
        }
        if (!s.staging.equals(staging)) {
          throw CsiErrors.notFound("volume " + id + " is staged at " + s.staging + ", not at "
              + staging);
        }
        for (String t : s.targets) {
          if (Host.isMountPoint(Path.of(t))) {
            throw CsiErrors.precondition("volume " + id + " is still published at " + t);
          }
        }
        attacher.detach(s);
        return NodeUnstageVolumeResponse.getDefaultInstance();
      });
    });
  }

  @Override
  public void nodePublishVolume(NodePublishVolumeRequest request,
      StreamObserver<NodePublishVolumeResponse> observer) {
    CsiErrors.answer("NodePublishVolume", observer, () -> {
      String id = volumeId(request.getVolumeId());
      String staging = CsiErrors.required("staging_target_path",
          request.getStagingTargetPath());
      Path target = Path.of(CsiErrors.required("target_path", request.getTargetPath()));
      VolumeCapability cap = capability(request.hasVolumeCapability(),
          request.getVolumeCapability());
      boolean readOnly = request.getReadonly() || Capabilities.readOnly(cap);
      return locked(id, () -> {
        StageState s = StageState.load(config.stateDir(), id);
        if (s == null || !s.staging.equals(staging)) {
          throw CsiErrors.precondition("volume " + id + " is not staged at " + staging);
        }
        if (cap.hasBlock() != s.block()) {
          throw CsiErrors.invalid("volume " + id + " is staged for " + s.access + " access");
        }
        if (!Host.isMountPoint(target)) {
          bind(s, target, readOnly);
        }
        if (!s.targets.contains(target.toString())) {
          s.targets.add(target.toString());
          s.save();
        }
        return NodePublishVolumeResponse.getDefaultInstance();
      });
    });
  }

  private static void bind(StageState s, Path target, boolean readOnly) throws IOException {
    String source;
    if (s.block()) {
      Files.createDirectories(target.getParent());
      if (!Files.exists(target)) {
        Files.createFile(target);
      }
      source = s.device();
    } else {
      Files.createDirectories(target);
      source = s.staging;
    }
    Host.check("mount", "--bind", source, target.toString());
    if (readOnly) {
      Host.check("mount", "-o", "remount,bind,ro", target.toString());
    }
  }

  @Override
  public void nodeUnpublishVolume(NodeUnpublishVolumeRequest request,
      StreamObserver<NodeUnpublishVolumeResponse> observer) {
    CsiErrors.answer("NodeUnpublishVolume", observer, () -> {
      String id = volumeId(request.getVolumeId());
      Path target = Path.of(CsiErrors.required("target_path", request.getTargetPath()));
      return locked(id, () -> {
        Host.unmountAll(target);
        if (Files.isDirectory(target)) {
          try (var entries = Files.list(target)) {
            if (entries.findAny().isEmpty()) {
              Files.delete(target);
            }
          }
        } else {
          Files.deleteIfExists(target);
        }
        StageState s = StageState.load(config.stateDir(), id);
        if (s != null && s.targets.remove(target.toString())) {
          s.save();
        }
        return NodeUnpublishVolumeResponse.getDefaultInstance();
      });
    });
  }

  @Override
  public void nodeGetVolumeStats(NodeGetVolumeStatsRequest request,
      StreamObserver<NodeGetVolumeStatsResponse> observer) {
    CsiErrors.answer("NodeGetVolumeStats", observer, () -> {
      String id = volumeId(request.getVolumeId());
      String path = CsiErrors.required("volume_path", request.getVolumePath());
      StageState s = StageState.load(config.stateDir(), id);
      if (s == null || !(s.staging.equals(path) || s.targets.contains(path))
          || !Files.exists(Path.of(path))) {
        throw CsiErrors.notFound("volume " + id + " is not staged or published at " + path);
      }
      NodeGetVolumeStatsResponse.Builder b = NodeGetVolumeStatsResponse.newBuilder();
      if (s.block()) {
        return b.addUsage(VolumeUsage.newBuilder().setUnit(VolumeUsage.Unit.BYTES)
            .setTotal(Attacher.deviceSize(s.device()))).build();
      }
      // fragment size, blocks, free blocks, blocks available, inodes, free inodes
      String[] f = Host.check("stat", "-f", "-c", "%S %b %f %a %c %d", path).split("\\s+");
      long unit = Long.parseLong(f[0]);
      long blocks = Long.parseLong(f[1]);
      long free = Long.parseLong(f[2]);
      long avail = Long.parseLong(f[3]);
      long inodes = Long.parseLong(f[4]);
      long freeInodes = Long.parseLong(f[5]);
      return b.addUsage(VolumeUsage.newBuilder().setUnit(VolumeUsage.Unit.BYTES)
              .setTotal(blocks * unit).setUsed((blocks - free) * unit).setAvailable(avail * unit))
          .addUsage(VolumeUsage.newBuilder().setUnit(VolumeUsage.Unit.INODES)
              .setTotal(inodes).setUsed(inodes - freeInodes).setAvailable(freeInodes))
          .build();
    });
  }

  @Override
  public void nodeExpandVolume(NodeExpandVolumeRequest request,
      StreamObserver<NodeExpandVolumeResponse> observer) {
    CsiErrors.answer("NodeExpandVolume", observer, () -> {
      String id = volumeId(request.getVolumeId());
      String path = CsiErrors.required("volume_path", request.getVolumePath());
      return locked(id, () -> {
        StageState s = StageState.load(config.stateDir(), id);
        if (s == null || !(s.staging.equals(path) || s.targets.contains(path))) {
          throw CsiErrors.notFound("volume " + id + " is not staged or published at " + path);
        }
        if (!s.kernel()) {
          Host.run("losetup", "-c", s.loop); // a kernel NBD device keeps its size until restaged
        }
        long size = Attacher.deviceSize(s.device());
        long required = request.getCapacityRange().getRequiredBytes();
        if (required > size) {
          throw CsiErrors.precondition("volume " + id + " shows " + size + " bytes on this node,"
              + " less than the " + required + " asked for: an attached volume sees a new size"
              + " when it is staged again (offline expansion)");
        }
        if (s.block()) {
          return NodeExpandVolumeResponse.newBuilder().setCapacityBytes(size).build();
        }
        if (Attacher.extNeedsGrowth(s)) { // staging grows it offline; this is online
          Host.check("resize2fs", s.device());
        } else if (s.fsType.equals("xfs")) {
          Host.check("xfs_growfs", s.staging);
        }
        return NodeExpandVolumeResponse.newBuilder().setCapacityBytes(size).build();
      });
    });
  }

  @Override
  public void nodeGetCapabilities(NodeGetCapabilitiesRequest request,
      StreamObserver<NodeGetCapabilitiesResponse> observer) {
    CsiErrors.answer("NodeGetCapabilities", observer, () -> {
      NodeGetCapabilitiesResponse.Builder b = NodeGetCapabilitiesResponse.newBuilder();
      for (NodeServiceCapability.RPC.Type t : List.of(
          NodeServiceCapability.RPC.Type.STAGE_UNSTAGE_VOLUME,
          NodeServiceCapability.RPC.Type.GET_VOLUME_STATS,
          NodeServiceCapability.RPC.Type.EXPAND_VOLUME)) {
        b.addCapabilities(NodeServiceCapability.newBuilder()
            .setRpc(NodeServiceCapability.RPC.newBuilder().setType(t)));
      }
      return b.build();
    });
  }

  @Override
  public void nodeGetInfo(NodeGetInfoRequest request,
      StreamObserver<NodeGetInfoResponse> observer) {
    CsiErrors.answer("NodeGetInfo", observer, () -> NodeGetInfoResponse.newBuilder()
        .setNodeId(config.nodeId()).setMaxVolumesPerNode(config.maxVolumesPerNode())
        .setAccessibleTopology(Topology.newBuilder()
            .putSegments(CsiConfig.TOPOLOGY_KEY, config.clusterName()))
        .build());
  }
}
