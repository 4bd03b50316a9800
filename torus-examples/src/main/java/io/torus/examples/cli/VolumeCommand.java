package io.torus.examples.cli;

import io.torus.Torus;
import io.torus.VolumeInfo;
import io.torus.VolumeSpec;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code torus volume ...}: create, list, inspect, resize and delete volumes. */
@Command(name = "volume", mixinStandardHelpOptions = true,
    description = "Create, list, inspect, resize and delete volumes.",
    subcommands = {VolumeCommand.Create.class, VolumeCommand.ListVolumes.class,
        VolumeCommand.Info.class, VolumeCommand.Resize.class, VolumeCommand.Delete.class})
final class VolumeCommand {

  @Command(name = "create", mixinStandardHelpOptions = true, description = "Create a volume.")
  static final class Create implements Callable<Integer> {
    @Mixin
    LocalNodeOptions node;

    @Parameters(index = "0", description = "Volume name.")
    String name;

    @Parameters(index = "1", description = "Size, e.g. 10GiB.")
    Size size;

    @Option(names = "--block-size", defaultValue = "64KiB",
        description = "Block size, 4KiB to 4MiB (default: ${DEFAULT-VALUE}).")
    Size blockSize;

    @Option(names = "--replication", defaultValue = "1",
        description = "Copies of each block (default: ${DEFAULT-VALUE}).")
    int replication;

    @Override
    public Integer call() {
      try (Torus torus = node.open()) {
        VolumeInfo v = torus.createVolume(VolumeSpec.builder(name, size.bytes())
            .blockSize((int) Math.min(Integer.MAX_VALUE, blockSize.bytes()))
            .replication(replication).build());
        System.out.printf("created volume '%s' (%s)%n", v.name(), Size.format(v.size()));
      }
      return 0;
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "List volumes.")
  static final class ListVolumes implements Callable<Integer> {
    @Mixin
    LocalNodeOptions node;

    @Override
    public Integer call() {
      try (Torus torus = node.open()) {
        System.out.printf("%-24s %12s %10s %6s%n", "NAME", "SIZE", "BLOCK", "COPIES");
        for (VolumeInfo v : torus.volumes()) {
          System.out.printf("%-24s %12s %10s %6d%n", v.name(), Size.format(v.size()),
              Size.format(v.blockSize()), v.replication());
        }
      }
      return 0;
    }
  }

  @Command(name = "info", mixinStandardHelpOptions = true, description = "Show a volume.")
  static final class Info implements Callable<Integer> {
    @Mixin
    LocalNodeOptions node;

    @Parameters(index = "0", description = "Volume name.")
    String name;

    @Override
    public Integer call() {
      try (Torus torus = node.open()) {
        VolumeInfo v = torus.volume(name);
        System.out.printf("name:        %s%nid:          %d%nsize:        %s (%d bytes)%n"
            + "block size:  %s%nreplication: %d%ncreated:     %s%n", v.name(), v.id(),
            Size.format(v.size()), v.size(), Size.format(v.blockSize()), v.replication(),
            v.created());
      }
      return 0;
    }
  }

  @Command(name = "resize", mixinStandardHelpOptions = true,
      description = "Grow a volume (shrinking is refused).")
  static final class Resize implements Callable<Integer> {
    @Mixin
    LocalNodeOptions node;

    @Parameters(index = "0", description = "Volume name.")
    String name;

    @Parameters(index = "1", description = "New size, e.g. 20GiB.")
    Size size;

    @Override
    public Integer call() {
      try (Torus torus = node.open()) {
        VolumeInfo v = torus.resizeVolume(name, size.bytes());
        System.out.printf("volume '%s' is now %s%n", v.name(), Size.format(v.size()));
      }
      return 0;
    }
  }

  @Command(name = "delete", mixinStandardHelpOptions = true, description = "Delete a volume.")
  static final class Delete implements Callable<Integer> {
    @Mixin
    LocalNodeOptions node;

    @Parameters(index = "0", description = "Volume name.")
    String name;

    @Override
    public Integer call() {
      try (Torus torus = node.open()) {
        torus.deleteVolume(name);
        System.out.printf("deleted volume '%s'%n", name);
      }
      return 0;
    }
  }
}
