package io.torus.examples.cli;

import static io.torus.examples.cli.CsiClient.MOUNT;
import static io.torus.examples.cli.CsiClient.fails;
import static io.torus.examples.cli.TorusProcesses.freePort;
import static io.torus.examples.cli.TorusProcesses.requireTool;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import csi.v1.Csi.CapacityRange;
import csi.v1.Csi.CreateSnapshotRequest;
import csi.v1.Csi.CreateVolumeRequest;
import csi.v1.Csi.DeleteSnapshotRequest;
import csi.v1.Csi.DeleteVolumeRequest;
import csi.v1.Csi.NodeStageVolumeRequest;
import csi.v1.Csi.Volume;
import csi.v1.Csi.VolumeContentSource;
import io.grpc.Status.Code;
import io.torus.KeyProviders;
import io.torus.testing.etcd.EtcdCluster;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Encrypted volumes through {@code torus csi} on a real cluster (one etcd, two peers), the
 * key-encryption key given only as CSI secrets, as Kubernetes' sidecars pass a Secret: create
 * with {@code encrypted: "true"}, stage (nbdfuse, picked by attach mode auto on this machine),
 * publish, write, unstage, stage again with the files intact; a snapshot and clones of it and
 * of the volume; the error codes of a missing, malformed or wrong key; the peers' stores never
 * hold a needle written through the mount (the same search finds it in a plain volume), and
 * no file the test's processes wrote (logs, state, stores) holds the key. Also the kernel
 * attach path forced on a machine without the nbd module, and {@code nbd-client -l} (the
 * kernel path's client, listing needs no module) against a {@code torus nbd} export.
 */
@Timeout(300)
class CsiEncryptionIT {
  private static final String NEEDLE = "torus-csi plaintext needle 8f1d2c";

  @RegisterExtension
  static final EtcdCluster ETCD = EtcdCluster.builder().members(1).build();

  @TempDir
  static Path dir;

  private static TorusProcesses torus;
  private static CsiClient a;
  private static CsiClient k;
  private static final String KEK = KeyProviders.generateHex();
  private static final Map<String, String> SECRETS = Map.of("torusKey", KEK + "\n");
  private static final Map<String, String> ENCRYPTED = Map.of("encrypted", "true",
      "replication", "2", "csi.storage.k8s.io/fstype", "ext4");

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
    startPlugin("a");
    a = new CsiClient(dir.resolve("a.sock"));
    torus.env("TORUS_CSI_ATTACH", "kernel"); // the plugin below, and processes started later
    startPlugin("k");
    k = new CsiClient(dir.resolve("k.sock"));
  }

  private static Process startPlugin(String name) throws Exception {
    return CsiCleanup.startPlugin(torus, dir, name);
  }

  @AfterAll
  @Timeout(120)
  static void stopAll() throws Exception {
    CsiCleanup.stopAll(torus, dir, List.of("a", "k"), a, k);
  }


  @Test
  void encryptedVolumesTakeTheirKeyFromSecretsOnly() throws Exception {
    Volume v = create("pvc-enc", ENCRYPTED, SECRETS, null);
    String kekId = KeyProviders.ofKey(java.util.HexFormat.of().parseHex(KEK)).keyId();
    assertThat(v.getVolumeContextMap()).containsEntry("encryption", kekId);
    assertThat(create("pvc-enc", ENCRYPTED, SECRETS, null)).isEqualTo(v); // idempotent
    String other = KeyProviders.generateHex();
    assertThat(fails(Code.ALREADY_EXISTS, () -> create("pvc-enc", ENCRYPTED,
        Map.of("torusKey", other), null))).contains(kekId).doesNotContain(other);
    assertThat(fails(Code.INVALID_ARGUMENT, () -> create("pvc-nokey", ENCRYPTED, Map.of(),
        null))).contains("torusKey");
    assertThat(fails(Code.INVALID_ARGUMENT, () -> create("pvc-badkey", ENCRYPTED,
        Map.of("torusKey", "not-a-key-" + other.substring(0, 20)), null)))
        .doesNotContain(other.substring(0, 20));

    // stage and write; the state records the key's id and the attach path, never the key
    Path staging = dir.resolve("a/staging/pvc-enc");
    Path target = dir.resolve("a/pods/p1/volumes/data");
    stage(a, "pvc-enc", staging, SECRETS);
    a.publish("pvc-enc", staging, target, MOUNT);
    String state = Files.readString(dir.resolve("state-a/volumes/pvc-enc/state.properties"));
    assertThat(state).contains("kekId=" + kekId.replace(":", "\\:")).doesNotContain(KEK);
    if (!Files.exists(Path.of("/sys/module/nbd"))) {
      assertThat(state).as("attach mode auto without the nbd module").contains("attach=fuse");
    }
    byte[] needles = needles(4 << 20);
    write(target.resolve("needles.bin"), needles);
    write(target.resolve("note.txt"), "encrypted at rest".getBytes(StandardCharsets.UTF_8));
    a.unpublish("pvc-enc", target);
    a.unstage("pvc-enc", staging);

    // without the key, or with another: refused before anything is started
    assertThat(fails(Code.INVALID_ARGUMENT, () -> stage(a, "pvc-enc", staging, Map.of())))
        .contains(kekId, "torusKey");
    assertThat(fails(Code.PERMISSION_DENIED, () -> stage(a, "pvc-enc", staging,
        Map.of("torusKey", other)))).contains(kekId).doesNotContain(other);
    assertThat(dir.resolve("state-a/volumes/pvc-enc")).doesNotExist();

    // staged again (the file system is found, not made again): the files are intact
    stage(a, "pvc-enc", staging, SECRETS);
    assertThat(Files.readAllBytes(staging.resolve("needles.bin"))).isEqualTo(needles);
    assertThat(Files.readString(staging.resolve("note.txt"))).isEqualTo("encrypted at rest");
    a.unstage("pvc-enc", staging);

    // a snapshot (no key needed) and clones of it and of the volume (the key needed)
    String snap = a.controller().createSnapshot(CreateSnapshotRequest.newBuilder()
        .setSourceVolumeId("pvc-enc").setName("snapshot-enc").build()).getSnapshot()
        .getSnapshotId();
    VolumeContentSource fromSnap = VolumeContentSource.newBuilder().setSnapshot(
        VolumeContentSource.SnapshotSource.newBuilder().setSnapshotId(snap)).build();
    VolumeContentSource fromVol = VolumeContentSource.newBuilder().setVolume(
        VolumeContentSource.VolumeSource.newBuilder().setVolumeId("pvc-enc")).build();
    assertThat(fails(Code.PERMISSION_DENIED, () -> create("pvc-wrong", ENCRYPTED,
        Map.of("torusKey", other), fromSnap))).contains(kekId).doesNotContain(other);
    assertThat(fails(Code.INVALID_ARGUMENT, () -> create("pvc-nokey2", ENCRYPTED, Map.of(),
        fromSnap))).contains("torusKey");
    assertThat(fails(Code.INVALID_ARGUMENT, () -> create("pvc-plain-clone",
        Map.of("replication", "2"), Map.of(), fromSnap))).contains("encrypted");
    for (VolumeContentSource src : List.of(fromSnap, fromVol)) {
      String id = "pvc-clone-" + (src.hasSnapshot() ? "snap" : "vol");
      Volume clone = create(id, ENCRYPTED, SECRETS, src);
      assertThat(clone.getVolumeContextMap()).containsEntry("encryption", kekId);
      Path s = dir.resolve("a/staging/" + id);
      stage(a, id, s, SECRETS);
      assertThat(Files.readAllBytes(s.resolve("needles.bin"))).as(id).isEqualTo(needles);
      write(s.resolve("clone.txt"), id.getBytes(StandardCharsets.UTF_8));
      a.unstage(id, s);
      delete(id);
    }
    a.controller().deleteSnapshot(DeleteSnapshotRequest.newBuilder().setSnapshotId(snap)
        .build());

    // ciphertext only in the stores; a plain volume's needles are found by the same search
    assertThat(storesHold(NEEDLE)).as("plaintext needle in the peers' stores").isFalse();
    Path img = dir.resolve("needles.img");
    Files.write(img, needles);
    torus.ok("volume", "import", img.toString(), "plain-control");
    assertThat(storesHold(NEEDLE)).as("the search finds a plain volume's needle").isTrue();
    torus.ok("volume", "delete", "plain-control");
    delete("pvc-enc");

    // the key reached no log, state file or store
    assertThat(filesHolding(KEK)).as("files holding the key").isEmpty();
  }

  @Test
  void forcedKernelAttachIsRefusedWithoutTheModule() {
    Assumptions.assumeFalse(Files.exists(Path.of("/sys/module/nbd")),
        "this machine has the nbd module");
    a.create("pvc-kernel", 16L << 20);
    Path staging = dir.resolve("k/staging/pvc-kernel");
    assertThat(fails(Code.FAILED_PRECONDITION, () -> k.stage("pvc-kernel", staging, MOUNT)))
        .contains("attach mode kernel", "nbd kernel module", "/sys/module/nbd");
    assertThat(dir.resolve("state-k/volumes/pvc-kernel")).doesNotExist();
    delete("pvc-kernel");
  }

  @Test
  void nbdClientListsTheExportsOfTorusNbd() throws Exception {
    Path client = Path.of("/usr/sbin/nbd-client");
    if (!Files.isExecutable(client)) {
      fail("nbd-client is not installed; install it with: apt-get install -y nbd-client");
    }
    a.create("pvc-listed", 16L << 20);
    int port = freePort();
    Process nbd = torus.start("nbd ready", "nbd", "--listen", "127.0.0.1:" + port,
        "pvc-listed");
    try {
      String out = run(client.toString(), "-l", "127.0.0.1", Integer.toString(port));
      assertThat(out.lines().map(String::strip)).as(out).contains("pvc-listed");
    } finally {
      TorusProcesses.stop(nbd);
    }
    delete("pvc-listed");
  }

  private static Volume create(String name, Map<String, String> params,
      Map<String, String> secrets, VolumeContentSource source) {
    CreateVolumeRequest.Builder b = CreateVolumeRequest.newBuilder().setName(name)
        .setCapacityRange(CapacityRange.newBuilder().setRequiredBytes(64L << 20))
        .addVolumeCapabilities(MOUNT).putAllParameters(params).putAllSecrets(secrets);
    if (source != null) {
      b.setVolumeContentSource(source);
    }
    return a.controller().createVolume(b.build()).getVolume();
  }

  private static void stage(CsiClient c, String id, Path staging, Map<String, String> secrets) {
    c.node().nodeStageVolume(NodeStageVolumeRequest.newBuilder().setVolumeId(id)
        .setStagingTargetPath(staging.toString()).setVolumeCapability(MOUNT)
        .putAllSecrets(secrets).build());
  }

  private static void delete(String id) {
    a.controller().deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId(id).build());
  }

  private static byte[] needles(int size) {
    byte[] n = NEEDLE.getBytes(StandardCharsets.US_ASCII);
    byte[] b = new byte[size];
    for (int i = 0; i < size; i++) {
      b[i] = n[i % n.length];
    }
    return b;
  }

  private static void write(Path file, byte[] content) throws IOException {
    try (FileChannel c = FileChannel.open(file, StandardOpenOption.CREATE,
        StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
      c.write(java.nio.ByteBuffer.wrap(content));
      c.force(true);
    }
  }

  /** True if a file of either peer's data directory holds {@code text}. */
  private static boolean storesHold(String text) throws IOException {
    for (String n : List.of("n0", "n1")) {
      if (!filesHolding(dir.resolve(n), text).isEmpty()) {
        return true;
      }
    }
    return false;
  }

  /** The files under the test directory that hold {@code text} (nothing is mounted now). */
  private static List<Path> filesHolding(String text) throws IOException {
    return filesHolding(dir, text);
  }

  private static List<Path> filesHolding(Path root, String text) throws IOException {
    byte[] needle = text.getBytes(StandardCharsets.US_ASCII);
    List<Path> out = new ArrayList<>();
    try (Stream<Path> files = Files.walk(root)) {
      for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
        if (contains(f, needle)) {
          out.add(f);
        }
      }
    }
    return out;
  }

  /** Streams {@code f} (store files are 1 GiB, sparse) in 1 MiB windows that overlap. */
  private static boolean contains(Path f, byte[] needle) throws IOException {
    byte[] buf = new byte[(1 << 20) + needle.length];
    int kept = 0;
    try (java.io.InputStream in = Files.newInputStream(f)) {
      int n;
      while ((n = in.readNBytes(buf, kept, buf.length - kept)) > 0) {
        int len = kept + n;
        if (indexOf(buf, len, needle) >= 0) {
          return true;
        }
        kept = Math.min(needle.length - 1, len);
        System.arraycopy(buf, len - kept, buf, 0, kept);
      }
    }
    return false;
  }

  private static int indexOf(byte[] hay, int len, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= len; i++) {
      if (hay[i] != needle[0]) {
        continue;
      }
      for (int j = 1; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  private static String run(String... cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    try {
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        fail("timed out: " + String.join(" ", cmd));
      }
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(p.exitValue()).as("%s:%n%s", String.join(" ", cmd), out).isZero();
      return out;
    } finally {
      p.destroyForcibly();
    }
  }
}
