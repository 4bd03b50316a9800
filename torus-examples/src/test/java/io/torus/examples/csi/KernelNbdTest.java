package io.torus.examples.csi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How the node plugin picks its attach path: the kernel client's requirements and free-device
 * rule on a sysfs tree laid out in a directory, and on this machine itself (which has no nbd
 * module: auto picks nbdfuse, kernel is refused naming what is missing). Also the stage
 * state's keys for the kernel path.
 */
class KernelNbdTest {
  @TempDir
  Path dir;

  private KernelNbd fake(boolean module, boolean client) throws Exception {
    Path sys = Files.createDirectories(dir.resolve("sys/block"));
    if (module) {
      Files.createDirectories(dir.resolve("sys/module/nbd"));
    }
    Path bin = Files.createDirectories(dir.resolve("bin"));
    if (client) {
      Files.writeString(bin.resolve("nbd-client"), "#!/bin/sh\nexit 0\n");
      Files.setPosixFilePermissions(bin.resolve("nbd-client"),
          PosixFilePermissions.fromString("rwxr-xr-x"));
    }
    Files.createDirectories(dir.resolve("dev"));
    return new KernelNbd(sys.getParent(), dir.resolve("dev"), List.of(bin));
  }

  private void device(String name, String size, boolean pid, boolean node) throws Exception {
    Path d = Files.createDirectories(dir.resolve("sys/block").resolve(name));
    Files.writeString(d.resolve("size"), size + "\n");
    if (pid) {
      Files.writeString(d.resolve("pid"), "1234\n");
    }
    if (node) {
      Files.createFile(dir.resolve("dev").resolve(name));
    }
  }

  @Test
  void whatIsMissingIsNamed() throws Exception {
    assertThat(fake(false, true).missing()).contains("nbd kernel module", "modprobe nbd");
    Files.delete(dir.resolve("bin/nbd-client"));
    assertThat(fake(true, false).missing()).contains("nbd-client is not installed");
    assertThat(fake(true, true).missing()).isNull();
  }

  @Test
  void aFreeDeviceHasNoClientNoSizeAndANode() throws Exception {
    KernelNbd k = fake(true, true);
    assertThat(k.freeDevice(Set.of())).isEmpty();
    device("nbd0", "0", true, true);         // a client holds it
    device("nbd1", "2097152", false, true);  // a size without a pid file: not free either
    device("nbd2", "0", false, true);        // free, but another staged volume chose it
    device("nbd3", "0", false, false);       // free, no device node
    device("nbd10", "0", false, true);       // free
    device("nbd4", "0", false, true);        // free, and first by number
    device("loop0", "0", false, true);
    String d2 = dir.resolve("dev/nbd2").toString();
    assertThat(k.freeDevice(Set.of(d2))).contains(dir.resolve("dev/nbd4").toString());
    assertThat(k.connected(dir.resolve("dev/nbd0").toString())).isTrue();
    assertThat(k.connected(dir.resolve("dev/nbd4").toString())).isFalse();
    assertThat(k.connectCommand("127.0.0.1", 10809, "/dev/nbd4", "pvc-1"))
        .containsExactly(dir.resolve("bin/nbd-client").toString(), "127.0.0.1", "10809",
            "/dev/nbd4", "-N", "pvc-1", "-t", "120");
  }

  @Test
  void theAttachModeChoosesAPath() throws Exception {
    KernelNbd k = fake(true, true);
    Path volumes = Files.createDirectories(dir.resolve("state/volumes"));
    Attacher a = new Attacher(List.of("torus", "nbd"), k);
    assertThat(a.choose(AttachMode.AUTO, volumes)).isEqualTo("fuse"); // no device at all
    device("nbd0", "0", false, true);
    assertThat(a.choose(AttachMode.AUTO, volumes)).isEqualTo("kernel");
    StageState s = StageState.create(dir.resolve("state"), "pvc-1");
    s.attach = "kernel";
    s.nbdDevice = dir.resolve("dev/nbd0").toString();
    s.save();
    assertThat(a.choose(AttachMode.AUTO, volumes)).as("nbd0 is taken").isEqualTo("fuse");
    assertThat(a.choose(AttachMode.FUSE, volumes)).isEqualTo("fuse");
    assertThat(a.choose(AttachMode.KERNEL, volumes)).isEqualTo("kernel");

    StageState back = StageState.load(dir.resolve("state"), "pvc-1");
    assertThat(back.kernel()).isTrue();
    assertThat(back.device()).isEqualTo(s.nbdDevice);
    assertThat(Files.readString(dir.resolve("state/volumes/pvc-1/state.properties")))
        .contains("attach=kernel", "nbdDevice=", "kekId=");
  }

  @Test
  void onThisMachineAutoIsFuseAndKernelIsRefused() throws Exception {
    Assumptions.assumeFalse(Files.exists(Path.of("/sys/module/nbd")),
        "this machine has the nbd module");
    Attacher a = new Attacher(List.of("torus", "nbd"), KernelNbd.system());
    Path volumes = Files.createDirectories(dir.resolve("volumes"));
    assertThat(a.choose(AttachMode.AUTO, volumes)).isEqualTo("fuse");
    StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class,
        () -> a.choose(AttachMode.KERNEL, volumes));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(e.getStatus().getDescription()).contains("nbd kernel module", "/sys/module/nbd");
  }

  @Test
  void attachModesParse() {
    assertThat(AttachMode.parse("Kernel")).isEqualTo(AttachMode.KERNEL);
    assertThat(AttachMode.parse(" fuse ")).isEqualTo(AttachMode.FUSE);
    assertThat(AttachMode.AUTO.toString()).isEqualTo("auto");
    assertThat(catchThrowableOfType(IllegalArgumentException.class,
        () -> AttachMode.parse("nbd"))).hasMessageContaining("auto, kernel or fuse");
    assertThat(Optional.ofNullable(System.getenv(AttachMode.ENV)).map(AttachMode::parse)
        .orElse(AttachMode.AUTO)).isEqualTo(AttachMode.fromEnvironment());
  }
}
