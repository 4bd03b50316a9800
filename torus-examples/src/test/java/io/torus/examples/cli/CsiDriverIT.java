package io.torus.examples.cli;

import static io.torus.examples.cli.CsiClient.BLOCK;
import static io.torus.examples.cli.CsiClient.MOUNT;
import static io.torus.examples.cli.CsiClient.fails;
import static io.torus.examples.cli.TorusProcesses.freePort;
import static io.torus.examples.cli.TorusProcesses.requireTool;
import static org.assertj.core.api.Assertions.assertThat;

import csi.v1.Csi.CapacityRange;
import csi.v1.Csi.ControllerExpandVolumeRequest;
import csi.v1.Csi.ControllerExpandVolumeResponse;
import csi.v1.Csi.CreateSnapshotRequest;
import csi.v1.Csi.CreateVolumeRequest;
import csi.v1.Csi.DeleteSnapshotRequest;
import csi.v1.Csi.DeleteVolumeRequest;
import csi.v1.Csi.GetCapacityRequest;
import csi.v1.Csi.GetPluginCapabilitiesRequest;
import csi.v1.Csi.GetPluginInfoRequest;
import csi.v1.Csi.ListSnapshotsRequest;
import csi.v1.Csi.ListVolumesRequest;
import csi.v1.Csi.ListVolumesResponse;
import csi.v1.Csi.NodeExpandVolumeRequest;
import csi.v1.Csi.NodeGetInfoRequest;
import csi.v1.Csi.NodeGetInfoResponse;
import csi.v1.Csi.NodeGetVolumeStatsRequest;
import csi.v1.Csi.NodeGetVolumeStatsResponse;
import csi.v1.Csi.NodeStageVolumeRequest;
import csi.v1.Csi.PluginCapability;
import csi.v1.Csi.ProbeRequest;
import csi.v1.Csi.Snapshot;
import csi.v1.Csi.Topology;
import csi.v1.Csi.TopologyRequirement;
import csi.v1.Csi.ValidateVolumeCapabilitiesRequest;
import csi.v1.Csi.Volume;
import csi.v1.Csi.VolumeCapability;
import csi.v1.Csi.VolumeContentSource;
import csi.v1.Csi.VolumeUsage;
import io.grpc.Status.Code;
import io.torus.testing.etcd.EtcdCluster;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code torus csi} against a real cluster (one etcd, two {@code torus node} peers), driven
 * over its Unix socket as a container orchestrator's sidecars drive it, in the spirit of the
 * community's csi-sanity: idempotent create and delete, capacity ranges, parameters and
 * topology, snapshots and clones, expansion, the error codes of missing or conflicting
 * arguments, and on this machine the node side for real: stage (a torus nbd process, nbdfuse,
 * a loop device, ext4 made on first use), publish, stats, unpublish, unstage; the files
 * survive restaging on a second plugin instance, and a mounted volume keeps working while
 * its plugin is killed and restarted.
 */
@Timeout(300)
class CsiDriverIT {
  @RegisterExtension
  static final EtcdCluster ETCD = EtcdCluster.builder().members(1).build();

  @TempDir
  static Path dir;

  private static TorusProcesses torus;
  private static Process pluginA;
  private static CsiClient a;
  private static CsiClient b;

  @BeforeAll
  @Timeout(240)
  static void startCluster() throws Exception {
    requireTool("nbdfuse", "libnbd-bin");
    requireTool("fusermount3", "fuse3");
    torus = new TorusProcesses(dir).env(NodeOptions.ENV, ETCD.endpoints().get(0));
    torus.ok("init", "--replication", "2");
    for (int i = 0; i < 2; i++) {
      torus.start("node ready", "node", "--data", dir.resolve("n" + i).toString(),
          "--capacity", "1GiB", "--listen", "127.0.0.1:" + freePort());
    }
    pluginA = startPlugin("a");
    a = new CsiClient(dir.resolve("a.sock"));
    startPlugin("b");
    b = new CsiClient(dir.resolve("b.sock"));
  }

  private static Process startPlugin(String name) throws Exception {
    return CsiCleanup.startPlugin(torus, dir, name);
  }

  @AfterAll
  @Timeout(120)
  static void stopAll() throws Exception {
    CsiCleanup.stopAll(torus, dir, List.of("a", "b"), a, b);
  }


  @Test
  void identityNodeInfoAndProbe() {
    assertThat(a.identity().getPluginInfo(GetPluginInfoRequest.getDefaultInstance()).getName())
        .isEqualTo("csi.torus.io");
    assertThat(a.identity().getPluginCapabilities(GetPluginCapabilitiesRequest
        .getDefaultInstance()).getCapabilitiesList()).extracting(c -> c.getService().getType())
        .contains(PluginCapability.Service.Type.CONTROLLER_SERVICE,
            PluginCapability.Service.Type.VOLUME_ACCESSIBILITY_CONSTRAINTS);
    assertThat(a.identity().probe(ProbeRequest.getDefaultInstance()).getReady().getValue())
        .isTrue();
    NodeGetInfoResponse info = b.node().nodeGetInfo(NodeGetInfoRequest.getDefaultInstance());
    assertThat(info.getNodeId()).isEqualTo("node-b");
    assertThat(info.getAccessibleTopology().getSegmentsMap())
        .containsEntry("topology.torus.io/cluster", "torus");
  }

  @Test
  void probeIsUnhealthyWhileEtcdDoesNotAnswer() throws Exception {
    ETCD.pause(0);
    try {
      assertThat(fails(Code.FAILED_PRECONDITION,
          () -> b.identity().probe(ProbeRequest.getDefaultInstance()))).contains("etcd");
    } finally {
      ETCD.resume(0);
    }
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (true) {
      try {
        assertThat(b.identity().probe(ProbeRequest.getDefaultInstance()).getReady().getValue())
            .isTrue();
        break;
      } catch (io.grpc.StatusRuntimeException e) {
        assertThat(System.nanoTime()).as("healthy again after etcd resumed: %s", e)
            .isLessThan(deadline);
        Thread.sleep(200);
      }
    }
  }

  @Test
  void createIsIdempotentByNameAndHonoursCapacityRanges() {
    Volume v = a.create("pvc-range", 100L << 20);
    assertThat(v.getVolumeId()).isEqualTo("pvc-range");
    assertThat(v.getCapacityBytes()).isEqualTo(100L << 20);
    assertThat(v.getAccessibleTopology(0).getSegmentsMap())
        .containsEntry("topology.torus.io/cluster", "torus");
    assertThat(a.create("pvc-range", 100L << 20)).isEqualTo(v);
    assertThat(fails(Code.ALREADY_EXISTS, () -> a.create("pvc-range", 200L << 20)))
        .contains("pvc-range");

    Volume odd = a.create("my volume/1", 1 << 20);
    assertThat(odd.getVolumeId()).startsWith("csi-").hasSize(44);
    assertThat(a.create("my volume/1", 1 << 20).getVolumeId()).isEqualTo(odd.getVolumeId());

    assertThat(create("pvc-up", range((10L << 20) + 1, 0)).getCapacityBytes())
        .isEqualTo((10L << 20) + 4096);
    assertThat(create("pvc-limit", range(0, 5L << 20)).getCapacityBytes()).isEqualTo(5L << 20);
    assertThat(create("pvc-sector", range(1000, 1536)).getCapacityBytes()).isEqualTo(1024);
    fails(Code.OUT_OF_RANGE, () -> create("pvc-tiny", range(1000, 1000)));
    fails(Code.INVALID_ARGUMENT, () -> create("pvc-inverted", range(2 << 20, 1 << 20)));
    fails(Code.INVALID_ARGUMENT, () -> create("pvc-negative", range(-1, 0)));

    fails(Code.INVALID_ARGUMENT, () -> a.create("", 1 << 20));
    fails(Code.INVALID_ARGUMENT, () -> a.controller().createVolume(
        CreateVolumeRequest.newBuilder().setName("pvc-nocaps").build()));
    VolumeCapability multi = MOUNT.toBuilder().setAccessMode(VolumeCapability.AccessMode
        .newBuilder().setMode(VolumeCapability.AccessMode.Mode.MULTI_NODE_MULTI_WRITER)).build();
    fails(Code.INVALID_ARGUMENT, () -> a.controller().createVolume(CreateVolumeRequest
        .newBuilder().setName("pvc-multi").addVolumeCapabilities(multi).build()));
    fails(Code.INVALID_ARGUMENT, () -> a.controller().createVolume(request("pvc-param")
        .putParameters("erasureCoding", "4+2").build()));
    fails(Code.RESOURCE_EXHAUSTED, () -> a.controller().createVolume(request("pvc-zone")
        .setAccessibilityRequirements(TopologyRequirement.newBuilder().addRequisite(Topology
            .newBuilder().putSegments("topology.torus.io/cluster", "elsewhere"))).build()));

    Volume laid = a.controller().createVolume(request("pvc-layout")
        .putParameters("replication", "1").putParameters("blockSize", "64KiB")
        .putParameters("csi.storage.k8s.io/pvc/name", "data").build()).getVolume();
    assertThat(laid.getVolumeContextMap()).containsEntry("replication", "1")
        .containsEntry("blockSize", "65536");
    fails(Code.ALREADY_EXISTS, () -> a.controller().createVolume(request("pvc-layout")
        .putParameters("replication", "2").build()));

    List<String> listed = new ArrayList<>();
    String token = "";
    do {
      ListVolumesResponse page = a.controller().listVolumes(ListVolumesRequest.newBuilder()
          .setMaxEntries(2).setStartingToken(token).build());
      assertThat(page.getEntriesCount()).isLessThanOrEqualTo(2);
      page.getEntriesList().forEach(e -> listed.add(e.getVolume().getVolumeId()));
      token = page.getNextToken();
    } while (!token.isEmpty());
    assertThat(listed).contains("pvc-range", "pvc-up", "pvc-layout", odd.getVolumeId());
    fails(Code.ABORTED, () -> a.controller().listVolumes(ListVolumesRequest.newBuilder()
        .setStartingToken("nonsense").build()));

    assertThat(a.controller().validateVolumeCapabilities(ValidateVolumeCapabilitiesRequest
        .newBuilder().setVolumeId("pvc-range").addVolumeCapabilities(MOUNT).build())
        .hasConfirmed()).isTrue();
    assertThat(a.controller().validateVolumeCapabilities(ValidateVolumeCapabilitiesRequest
        .newBuilder().setVolumeId("pvc-range").addVolumeCapabilities(multi).build())
        .getMessage()).contains("MULTI_NODE_MULTI_WRITER");
    fails(Code.NOT_FOUND, () -> a.controller().validateVolumeCapabilities(
        ValidateVolumeCapabilitiesRequest.newBuilder().setVolumeId("pvc-none")
            .addVolumeCapabilities(MOUNT).build()));
    assertThat(a.controller().getCapacity(GetCapacityRequest.getDefaultInstance())
        .getAvailableCapacity()).isPositive();

    for (String id : List.of("pvc-range", "pvc-up", "pvc-limit", "pvc-sector", "pvc-layout",
        odd.getVolumeId())) {
      delete(id);
      delete(id); // idempotent
    }
    delete("never-existed");
    fails(Code.INVALID_ARGUMENT, () -> delete(""));
    assertThat(a.controller().listVolumes(ListVolumesRequest.getDefaultInstance())
        .getEntriesList()).extracting(e -> e.getVolume().getVolumeId())
        .doesNotContain("pvc-range", "pvc-layout");
  }

  @Test
  void snapshotsClonesAndExpansion() throws Exception {
    byte[] data = new byte[1 << 20];
    new Random(17).nextBytes(data);
    Path img = dir.resolve("snap-src.img");
    Files.write(img, data);
    torus.ok("volume", "import", img.toString(), "snap-src");

    Snapshot s = snapshot("snap-src", "snapshot-1");
    assertThat(s.getSnapshotId()).isEqualTo("snap-src@snapshot-1");
    assertThat(s.getReadyToUse()).isTrue();
    assertThat(s.getSizeBytes()).isEqualTo(1 << 20);
    assertThat(snapshot("snap-src", "snapshot-1")).isEqualTo(s);
    a.create("snap-other", 1 << 20);
    fails(Code.ALREADY_EXISTS, () -> snapshot("snap-other", "snapshot-1"));
    fails(Code.NOT_FOUND, () -> snapshot("snap-none", "snapshot-2"));
    fails(Code.INVALID_ARGUMENT, () -> snapshot("snap-src", ""));
    assertThat(a.controller().listSnapshots(ListSnapshotsRequest.newBuilder()
        .setSnapshotId(s.getSnapshotId()).build()).getEntriesList()).hasSize(1);
    assertThat(a.controller().listSnapshots(ListSnapshotsRequest.newBuilder()
        .setSourceVolumeId("snap-other").build()).getEntriesList()).isEmpty();
    assertThat(a.controller().listSnapshots(ListSnapshotsRequest.getDefaultInstance())
        .getEntriesList()).extracting(e -> e.getSnapshot().getSnapshotId())
        .contains("snap-src@snapshot-1");

    Volume fromSnap = a.controller().createVolume(request("snap-restored")
        .setCapacityRange(range(2 << 20, 0)).setVolumeContentSource(VolumeContentSource
            .newBuilder().setSnapshot(VolumeContentSource.SnapshotSource.newBuilder()
                .setSnapshotId(s.getSnapshotId()))).build()).getVolume();
    assertThat(fromSnap.getCapacityBytes()).isEqualTo(2 << 20);
    assertThat(fromSnap.getContentSource().getSnapshot().getSnapshotId())
        .isEqualTo(s.getSnapshotId());
    Volume cloned = a.controller().createVolume(request("snap-clone")
        .setVolumeContentSource(VolumeContentSource.newBuilder().setVolume(
            VolumeContentSource.VolumeSource.newBuilder().setVolumeId("snap-src"))).build())
        .getVolume();
    assertThat(cloned.getCapacityBytes()).isEqualTo(1 << 20);
    fails(Code.NOT_FOUND, () -> a.controller().createVolume(request("snap-bad")
        .setVolumeContentSource(VolumeContentSource.newBuilder().setSnapshot(
            VolumeContentSource.SnapshotSource.newBuilder().setSnapshotId("snap-src@nope")))
        .build()));

    fails(Code.FAILED_PRECONDITION, () -> delete("snap-src")); // it has a snapshot
    deleteSnapshot(s.getSnapshotId());
    deleteSnapshot(s.getSnapshotId());
    deleteSnapshot("not-a-snapshot-id");
    assertThat(a.controller().listSnapshots(ListSnapshotsRequest.newBuilder()
        .setSourceVolumeId("snap-src").build()).getEntriesList()).isEmpty();
    delete("snap-src");
    for (String clone : List.of("snap-restored", "snap-clone")) { // origin gone, content kept
      Path out = dir.resolve(clone + ".img");
      torus.ok("volume", "export", clone, out.toString());
      assertThat(Arrays.copyOf(Files.readAllBytes(out), 1 << 20)).as(clone).isEqualTo(data);
    }

    ControllerExpandVolumeResponse grown = expand("snap-clone", 4 << 20);
    assertThat(grown.getCapacityBytes()).isEqualTo(4 << 20);
    assertThat(grown.getNodeExpansionRequired()).isTrue();
    assertThat(expand("snap-clone", 1 << 20).getCapacityBytes()).isEqualTo(4 << 20);
    fails(Code.NOT_FOUND, () -> expand("snap-none", 4 << 20));
    fails(Code.INVALID_ARGUMENT, () -> a.controller().controllerExpandVolume(
        ControllerExpandVolumeRequest.newBuilder().setVolumeId("snap-clone").build()));
    for (String id : List.of("snap-restored", "snap-clone", "snap-other")) {
      delete(id);
    }
  }

  @Test
  void nodeCallsCheckTheirArguments() {
    Path staging = dir.resolve("args-staging");
    fails(Code.INVALID_ARGUMENT, () -> a.stage("", staging, MOUNT));
    fails(Code.INVALID_ARGUMENT, () -> a.node().nodeStageVolume(NodeStageVolumeRequest
        .newBuilder().setVolumeId("x").setVolumeCapability(MOUNT).build()));
    fails(Code.INVALID_ARGUMENT, () -> a.node().nodeStageVolume(NodeStageVolumeRequest
        .newBuilder().setVolumeId("x").setStagingTargetPath(staging.toString()).build()));
    fails(Code.NOT_FOUND, () -> a.stage("no-such-volume", staging, MOUNT));
    assertThat(dir.resolve("state-a/volumes/no-such-volume")).doesNotExist();
    fails(Code.FAILED_PRECONDITION,
        () -> a.publish("no-such-volume", staging, dir.resolve("args-target"), MOUNT));
    fails(Code.INVALID_ARGUMENT, () -> a.publish("x", staging, Path.of(""), MOUNT));
    a.unstage("no-such-volume", staging);
    a.unpublish("no-such-volume", dir.resolve("args-target"));
    fails(Code.NOT_FOUND, () -> stats(a, "no-such-volume", staging));
    fails(Code.NOT_FOUND, () -> a.node().nodeExpandVolume(NodeExpandVolumeRequest.newBuilder()
        .setVolumeId("no-such-volume").setVolumePath(staging.toString()).build()));
  }

  @Test
  void filesSurviveRestagingElsewhereAndAPluginRestart() throws Exception {
    String id = a.create("pvc-e2e", 256L << 20).getVolumeId();
    Path stagingA = dir.resolve("a/staging/pvc-e2e");
    Path targetA = dir.resolve("a/pods/p1/volumes/data");
    a.stage(id, stagingA, MOUNT);
    a.stage(id, stagingA, MOUNT); // idempotent
    fails(Code.ALREADY_EXISTS, () -> a.stage(id, dir.resolve("a/elsewhere"), MOUNT));
    a.publish(id, stagingA, targetA, MOUNT);
    a.publish(id, stagingA, targetA, MOUNT);

    byte[] big = new byte[4 << 20];
    new Random(5).nextBytes(big);
    write(targetA.resolve("big.bin"), big);
    write(targetA.resolve("note.txt"), "written on node a".getBytes());
    NodeGetVolumeStatsResponse st = stats(a, id, targetA);
    assertThat(st.getUsageList()).anySatisfy(u -> {
      assertThat(u.getUnit()).isEqualTo(VolumeUsage.Unit.BYTES);
      assertThat(u.getTotal()).isBetween(200L << 20, 256L << 20);
      assertThat(u.getUsed()).isGreaterThanOrEqualTo(4L << 20);
    });
    assertThat(st.getUsageList()).anySatisfy(u ->
        assertThat(u.getUnit()).isEqualTo(VolumeUsage.Unit.INODES));
    fails(Code.FAILED_PRECONDITION, () -> delete(id)); // attached
    fails(Code.FAILED_PRECONDITION, () -> b.stage(id, dir.resolve("b/staging/x"), MOUNT));
    assertThat(dir.resolve("state-b/volumes/" + id)).doesNotExist();

    TorusProcesses.kill9(pluginA); // the mount lives on without its plugin
    write(targetA.resolve("after-kill.txt"), "the plugin was down".getBytes());
    a.close();
    pluginA = startPlugin("a");
    a = new CsiClient(dir.resolve("a.sock"));
    assertThat(Files.readAllBytes(targetA.resolve("big.bin"))).isEqualTo(big);
    a.stage(id, stagingA, MOUNT); // the new plugin finds it staged
    assertThat(stats(a, id, stagingA).getUsageCount()).isEqualTo(2);
    fails(Code.FAILED_PRECONDITION, () -> a.unstage(id, stagingA)); // still published
    a.unpublish(id, targetA);
    a.unpublish(id, targetA);
    assertThat(targetA).doesNotExist();
    a.unstage(id, stagingA);
    a.unstage(id, stagingA);
    assertThat(mounted(stagingA)).isFalse();
    assertThat(dir.resolve("state-a/volumes/" + id)).doesNotExist();

    Path stagingB = dir.resolve("b/staging/pvc-e2e");
    Path targetB = dir.resolve("b/pods/p2/volumes/data");
    b.stage(id, stagingB, MOUNT);
    b.publish(id, stagingB, targetB, MOUNT);
    assertThat(Files.readAllBytes(targetB.resolve("big.bin"))).isEqualTo(big);
    assertThat(Files.readString(targetB.resolve("note.txt"))).isEqualTo("written on node a");
    assertThat(Files.readString(targetB.resolve("after-kill.txt")))
        .isEqualTo("the plugin was down");
    Path readOnly = dir.resolve("b/pods/p3/volumes/data");
    b.publish(id, stagingB, readOnly, MOUNT, true);
    assertThat(Files.readString(readOnly.resolve("note.txt"))).isEqualTo("written on node a");
    assertThat(org.assertj.core.api.Assertions.catchThrowable(
        () -> Files.writeString(readOnly.resolve("new.txt"), "x")))
        .as("writing through a read-only publish").isInstanceOf(java.io.IOException.class)
        .hasMessageContaining("Read-only file system");
    b.unpublish(id, readOnly);
    b.unpublish(id, targetB);
    b.unstage(id, stagingB);

    assertThat(expand(id, 512L << 20).getCapacityBytes()).isEqualTo(512L << 20);
    b.stage(id, stagingB, MOUNT);
    assertThat(b.node().nodeExpandVolume(NodeExpandVolumeRequest.newBuilder().setVolumeId(id)
        .setVolumePath(stagingB.toString()).setCapacityRange(range(512L << 20, 0)).build())
        .getCapacityBytes()).isEqualTo(512L << 20);
    assertThat(stats(b, id, stagingB).getUsageList()).anySatisfy(u -> {
      assertThat(u.getUnit()).isEqualTo(VolumeUsage.Unit.BYTES);
      assertThat(u.getTotal()).isGreaterThan(400L << 20);
    });
    assertThat(Files.readAllBytes(stagingB.resolve("big.bin"))).isEqualTo(big);
    b.unstage(id, stagingB);
    delete(id);
  }

  @Test
  void rawBlockVolume() throws Exception {
    String id = a.create("pvc-block", 16L << 20).getVolumeId();
    Path staging = dir.resolve("a/staging/pvc-block");
    Path target = dir.resolve("a/pods/p3/volumeDevices/disk");
    a.stage(id, staging, BLOCK);
    a.publish(id, staging, target, BLOCK);
    assertThat(stats(a, id, target).getUsage(0).getTotal()).isEqualTo(16L << 20);
    byte[] pattern = new byte[1 << 20];
    new Random(9).nextBytes(pattern);
    try (RandomAccessFile f = new RandomAccessFile(target.toFile(), "rw")) {
      f.seek(1 << 20);
      f.write(pattern);
      f.getFD().sync();
    }
    a.unpublish(id, target);
    assertThat(target).doesNotExist();
    a.unstage(id, staging);
    Path out = dir.resolve("pvc-block.img");
    torus.ok("volume", "export", id, out.toString());
    assertThat(Arrays.copyOfRange(Files.readAllBytes(out), 1 << 20, 2 << 20))
        .isEqualTo(pattern);
    delete(id);
  }

  private static boolean mounted(Path p) throws Exception {
    return Files.readString(Path.of("/proc/self/mountinfo")).contains(" " + p + " ");
  }

  private static void write(Path file, byte[] content) throws Exception {
    try (FileChannel c = FileChannel.open(file, StandardOpenOption.CREATE,
        StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
      c.write(java.nio.ByteBuffer.wrap(content));
      c.force(true);
    }
  }

  private static CapacityRange range(long required, long limit) {
    return CapacityRange.newBuilder().setRequiredBytes(required).setLimitBytes(limit).build();
  }

  private static CreateVolumeRequest.Builder request(String name) {
    return CreateVolumeRequest.newBuilder().setName(name).addVolumeCapabilities(MOUNT);
  }

  private static Volume create(String name, CapacityRange r) {
    return a.controller().createVolume(request(name).setCapacityRange(r).build()).getVolume();
  }

  private static void delete(String id) {
    a.controller().deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId(id).build());
  }

  private static Snapshot snapshot(String volume, String name) {
    return a.controller().createSnapshot(CreateSnapshotRequest.newBuilder()
        .setSourceVolumeId(volume).setName(name).build()).getSnapshot();
  }

  private static void deleteSnapshot(String id) {
    a.controller().deleteSnapshot(DeleteSnapshotRequest.newBuilder().setSnapshotId(id).build());
  }

  private static ControllerExpandVolumeResponse expand(String id, long required) {
    return a.controller().controllerExpandVolume(ControllerExpandVolumeRequest.newBuilder()
        .setVolumeId(id).setCapacityRange(range(required, 0)).build());
  }

  private static NodeGetVolumeStatsResponse stats(CsiClient c, String id, Path path) {
    return c.node().nodeGetVolumeStats(NodeGetVolumeStatsRequest.newBuilder().setVolumeId(id)
        .setVolumePath(path.toString()).build());
  }
}
