package io.torus.examples.cli;

import io.torus.SnapshotInfo;
import io.torus.Torus;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code torus snapshot ...}: create, list, delete and restore snapshots. */
@Command(name = "snapshot", mixinStandardHelpOptions = true,
    description = "Create, list, delete and restore snapshots (VOL@SNAP).",
    subcommands = {SnapshotCommand.Create.class, SnapshotCommand.ListSnapshots.class,
        SnapshotCommand.Delete.class, SnapshotCommand.Restore.class})
final class SnapshotCommand {

  @Command(name = "create", mixinStandardHelpOptions = true,
      description = {"Snapshot a volume's content at its last completed flush.",
          "Allowed while the volume is open and being written; copies no data."})
  static final class Create implements Callable<Integer> {
    @Mixin
    NodeOptions node;

    @Parameters(index = "0", paramLabel = "VOL@SNAP", description = "Volume and new name.")
    String ref;

    @Override
    public Integer call() {
      VolRef r = VolRef.parseSnapshot(ref);
      try (Torus torus = node.open()) {
        SnapshotInfo s = torus.createSnapshot(r.volume(), r.snapshot());
        System.out.printf("created snapshot %s (%s)%n", s.fullName(), Size.format(s.size()));
      }
      return 0;
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true,
      description = {"List a volume's snapshots by name, a page at a time (--limit, default"
          + " 100).", "When more follow, the last line says how to get the next page:",
          "  more: torus snapshot list ... VOL --after SNAP", "--all prints every page."})
  static final class ListSnapshots implements Callable<Integer> {
    @Mixin
    NodeOptions node;

    @Mixin
    PageOptions page;

    @Parameters(index = "0", paramLabel = "VOL", description = "Volume name.")
    String volume;

    @Override
    public Integer call() {
      try (Torus torus = node.open()) {
        System.out.printf("%-32s %12s  %s%n", "SNAPSHOT", "SIZE", "CREATED");
        page.print((after, limit) -> torus.snapshots(volume, after, limit),
            s -> System.out.printf("%-32s %12s  %s%n", s.fullName(), Size.format(s.size()),
                s.created()));
      }
      return 0;
    }
  }

  @Command(name = "delete", mixinStandardHelpOptions = true,
      description = {"Delete a snapshot.",
          "The space only it used comes back at the next garbage collection."})
  static final class Delete implements Callable<Integer> {
    @Mixin
    NodeOptions node;

    @Parameters(index = "0", paramLabel = "VOL@SNAP", description = "The snapshot.")
    String ref;

    @Override
    public Integer call() {
      VolRef r = VolRef.parseSnapshot(ref);
      try (Torus torus = node.open()) {
        torus.deleteSnapshot(r.volume(), r.snapshot());
        System.out.printf("deleted snapshot %s%n", r);
      }
      return 0;
    }
  }

  @Command(name = "restore", mixinStandardHelpOptions = true,
      description = {"Make a volume's content its snapshot's again (an instant head swap).",
          "Refused while the volume is open for writing."})
  static final class Restore implements Callable<Integer> {
    @Mixin
    NodeOptions node;

    @Parameters(index = "0", paramLabel = "VOL@SNAP", description = "The snapshot.")
    String ref;

    @Override
    public Integer call() {
      VolRef r = VolRef.parseSnapshot(ref);
      try (Torus torus = node.open()) {
        torus.restoreSnapshot(r.volume(), r.snapshot());
        System.out.printf("restored volume '%s' to %s%n", r.volume(), r);
      }
      return 0;
    }
  }
}
