package io.torus.examples.cli;

import io.torus.ClusterAdmin;
import io.torus.Erasure;
import io.torus.Torus;
import io.torus.VolumeInfo;
import io.torus.VolumeSpec;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code torus volume ...}: create, list, inspect, resize, delete, clone, limit, export,
 * import.
 */
@Command(name = "volume", mixinStandardHelpOptions = true,
    description = "Create, list, inspect, resize, delete, clone, limit, export and import"
        + " volumes.",
    subcommands = {VolumeCommand.Create.class, VolumeCommand.ListVolumes.class,
        VolumeCommand.Info.class, VolumeCommand.Resize.class, VolumeCommand.Delete.class,
        VolumeCommand.Clone.class, VolumeCommand.Rekey.class, VolumeCommand.SetQos.class,
        ImageCommands.Export.class, ImageCommands.Import.class})
final class VolumeCommand {

  /** A volume's I/O limits; an option not given leaves that limit as it is (0: none). */
  static final class QosOptions {
    @Option(names = "--read-iops", paramLabel = "N",
        description = "Read requests per second the volume's handle may serve; 0: no limit.")
    Long readIops;

    @Option(names = "--write-iops", paramLabel = "N",
        description = "Write, trim and zero requests per second; 0: no limit.")
    Long writeIops;

    @Option(names = "--read-bps", paramLabel = "SIZE",
        description = "Bytes read per second, e.g. 100MiB; 0: no limit.")
    Size readBps;

    @Option(names = "--write-bps", paramLabel = "SIZE",
        description = "Bytes written per second, e.g. 50MiB; 0: no limit.")
    Size writeBps;

    /** Whether any limit was given. */
    boolean given() {
      return readIops != null || writeIops != null || readBps != null || writeBps != null;
    }

    /** {@code base} with the limits given here (a request over them waits, never fails). */
    io.torus.VolumeQos apply(io.torus.VolumeQos base) {
      io.torus.VolumeQos.Builder b = base.toBuilder();
      if (readIops != null) {
        b.readIops(readIops);
      }
      if (writeIops != null) {
        b.writeIops(writeIops);
      }
      if (readBps != null) {
        b.readBytesPerSecond(readBps.bytes());
      }
      if (writeBps != null) {
        b.writeBytesPerSecond(writeBps.bytes());
      }
      try {
        return b.build();
      } catch (io.torus.TorusException e) {
        throw new UsageError(e.getMessage());
      }
    }
  }

  /** A volume's limits for people: {@code read 500 IOPS, write 50 MiB/s, burst 1 s}. */
  static String qos(io.torus.VolumeQos q) {
    return q.describe();
  }

  /** Options that choose a new volume's geometry; unset values come from the defaults. */
  static final class SpecOptions {
    @Option(names = "--block-size", paramLabel = "SIZE",
        description = "Block size, a power of two from 4KiB to 4MiB (default: the cluster's,"
            + " set by 'torus init'; else 16KiB).")
    Size blockSize;

    @Option(names = "--replication", paramLabel = "N",
        description = "Copies of each block (default: the cluster's, set by 'torus init';"
            + " 2 without one; on a local node at most its number of stores).")
    Integer replication;

    @Option(names = "--erasure", paramLabel = "K+M",
        description = "Erasure-code the data instead of copying it, e.g. 4+2: K data and M"
            + " parity blocks per stripe (1-16, 1-8); survives M lost peers at (K+M)/K times"
            + " the space; map nodes keep M+1 copies. Needs a cluster of at least K+M peers;"
            + " not with --replication (default without either: the cluster's, set by"
            + " 'torus init --erasure').")
    Erasure erasure;

    @Option(names = "--encrypt",
        description = "Encrypt the volume at rest (AES-256-GCM) with a new data key wrapped by"
            + " the key of --key-file or --key-env; opening it later needs that key.")
    boolean encrypt;

    @Mixin
    QosOptions qos;

    /**
     * The spec of a new volume created through {@code torus}; {@code keys} are the node's
     * key-encryption keys (the first wraps the data key of an encrypted one).
     */
    VolumeSpec spec(Torus torus, String name, long size, int localStores,
        java.util.List<io.torus.spi.KeyProvider> keys) {
      if (erasure != null && replication != null) {
        throw new UsageError("give either --replication N (copies of each block) or --erasure"
            + " K+M (erasure coding, whose map nodes keep M+1 copies), not both");
      }
      Optional<ClusterAdmin.Defaults> d = torus.cluster().defaults();
      Erasure e = erasure != null ? erasure : replication != null ? null
          : d.map(ClusterAdmin.Defaults::erasure).orElse(null);
      int r = replication != null ? replication
          : d.map(ClusterAdmin.Defaults::replication).orElse(torus.cluster().clustered()
              ? VolumeSpec.DEFAULT_REPLICATION
              : Math.max(1, Math.min(VolumeSpec.DEFAULT_REPLICATION, localStores)));
      long bs = blockSize != null ? blockSize.bytes()
          : d.map(ClusterAdmin.Defaults::blockSize).orElse(VolumeSpec.DEFAULT_BLOCK_SIZE);
      VolumeSpec.Builder b = VolumeSpec.builder(name, size)
          .blockSize((int) Math.min(Integer.MAX_VALUE, bs));
      if (e != null) {
        b.erasure(e); // replication: M+1
      } else {
        b.replication(r);
      }
      if (encrypt) {
        if (keys.isEmpty()) {
          throw new UsageError("--encrypt needs a key-encryption key: --key-file FILE or"
              + " --key-env VAR ('torus key generate --out FILE' makes one)");
        }
        b.encryption(keys.get(0));
      }
      b.qos(qos.apply(io.torus.VolumeQos.UNLIMITED));
      return b.build();
    }
  }

  /**
   * How a volume's blocks are kept, in full: {@code replication 2}, or {@code erasure 4+2
   * (1.50x space, map nodes 3 copies)}.
   */
  static String redundancy(int replication, Erasure erasure) {
    return erasure == null ? "replication " + replication
        : String.format(Locale.ROOT, "erasure %s (%.2fx space, map nodes %d copies)", erasure,
            erasure.overhead(), replication);
  }

  /** How a volume's blocks are kept, short: {@code 2 copies} or {@code erasure 4+2}. */
  static String copies(VolumeInfo v) {
    return v.erasureCoded() ? "erasure " + v.erasure() : v.replication() + " copies";
  }

  @Command(name = "create", mixinStandardHelpOptions = true, description = "Create a volume.")
  static final class Create implements Callable<Integer> {
    @Mixin
    NodeOptions node;

    @Mixin
    SpecOptions specOptions;

    @Parameters(index = "0", paramLabel = "NAME", description = "Volume name.")
    String name;

    @Parameters(index = "1", paramLabel = "SIZE", description = "Size, e.g. 10GiB.")
    Size size;

    @Override
    public Integer call() {
      try (Torus torus = node.open()) {
        VolumeInfo v = torus.createVolume(specOptions.spec(torus, name, size.bytes(),
            node.data == null ? 0 : NodeOptions.storeDirs(node.data).size(),
            node.keyProviders()));
        System.out.printf("created volume '%s': %s, %s blocks, %s%s%s%n", v.name(),
            Size.format(v.size()), Size.format(v.blockSize()), copies(v),
            v.encrypted() ? ", encrypted with key " + v.encryption().kekId() : "",
            v.qos().unlimited() ? "" : ", limits " + qos(v.qos()));
      }
      return 0;
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true,
      description = {"List volumes by name, a page at a time (--limit, default 100).",
          "When more follow, the last line says how to get the next page:",
          "  more: torus volume list ... --after NAME",
          "--all prints every page."})
  static final class ListVolumes implements Callable<Integer> {
    @Mixin
    NodeOptions node;

    @Mixin
    PageOptions page;

    @Override
    public Integer call() {
      try (Torus torus = node.open()) {
        System.out.printf("%-24s %12s %10s %s%n", "NAME", "SIZE", "BLOCK", "REDUNDANCY");
        page.print(torus::volumes, v -> System.out.printf("%-24s %12s %10s %s%n", v.name(),
            Size.format(v.size()), Size.format(v.blockSize()), copies(v)));
      }
      return 0;
    }
  }

  @Command(name = "info", mixinStandardHelpOptions = true, description = "Show a volume.")
  static final class Info implements Callable<Integer> {
    @Mixin
    NodeOptions node;

    @Parameters(index = "0", paramLabel = "NAME", description = "Volume name.")
    String name;

    @Override
    public Integer call() {
      try (Torus torus = node.open()) {
        VolumeInfo v = torus.volume(name);
        System.out.printf("name:        %s%nid:          %d%nsize:        %s (%d bytes)%n"
            + "block size:  %s%nredundancy:  %s%ncreated:     %s%nsnapshots:   %d%n"
            + "encryption:  %s%nlimits:      %s%n",
            v.name(), v.id(), Size.format(v.size()), v.size(), Size.format(v.blockSize()),
            redundancy(v.replication(), v.erasure()), v.created(), torus.snapshots(name).size(),
            v.encrypted() ? v.encryption().cipher() + ", key " + v.encryption().kekId() + ", "
                + v.encryption().keys().size() + " data key(s)" : "none", qos(v.qos()));
      }
      return 0;
    }
  }

  @Command(name = "resize", mixinStandardHelpOptions = true,
      description = {"Grow a volume (shrinking is refused).",
          "An open writer sees the new size at once; NBD clients on reconnect."})
  static final class Resize implements Callable<Integer> {
    @Mixin
    NodeOptions node;

    @Parameters(index = "0", paramLabel = "NAME", description = "Volume name.")
    String name;

    @Parameters(index = "1", paramLabel = "SIZE", description = "New size, e.g. 20GiB.")
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

  @Command(name = "delete", mixinStandardHelpOptions = true,
      description = {"Delete a volume (refused while it is open for writing).",
          "Its space comes back at the next garbage collection."})
  static final class Delete implements Callable<Integer> {
    @Mixin
    NodeOptions node;

    @Parameters(index = "0", paramLabel = "NAME", description = "Volume name.")
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

  @Command(name = "clone", mixinStandardHelpOptions = true,
      description = {"Create a writable volume from a snapshot. No data is copied; writes to"
          + " either side never show in the other."})
  static final class Clone implements Callable<Integer> {
    @Mixin
    NodeOptions node;

    @Parameters(index = "0", paramLabel = "VOL@SNAP", description = "The snapshot.")
    String source;

    @Parameters(index = "1", paramLabel = "NEWVOL", description = "Name of the new volume.")
    String name;

    @Override
    public Integer call() {
      VolRef src = VolRef.parseSnapshot(source);
      try (Torus torus = node.open()) {
        VolumeInfo v = torus.cloneVolume(src.volume(), src.snapshot(), name);
        System.out.printf("created volume '%s' from %s (%s)%n", v.name(), src,
            Size.format(v.size()));
      }
      return 0;
    }
  }

  @Command(name = "set-qos", mixinStandardHelpOptions = true,
      description = {"Set a volume's I/O limits: requests and bytes per second, for reads and"
          + " writes (trims and zero writes count as write requests). A request over them"
          + " waits; none fails.",
          "Limits not given stay as they are; 0 removes one. Handles open on other nodes (an"
          + " NBD export) apply them within 10 s, handles opened later at their open."})
  static final class SetQos implements Callable<Integer> {
    @Mixin
    NodeOptions node;

    @Parameters(index = "0", paramLabel = "NAME", description = "Volume name.")
    String name;

    @Mixin
    QosOptions qos;

    @Override
    public Integer call() {
      if (!qos.given()) {
        throw new UsageError("give at least one limit: --read-iops N, --write-iops N,"
            + " --read-bps SIZE, --write-bps SIZE (0 removes a limit)");
      }
      try (Torus torus = node.open()) {
        VolumeInfo before = torus.volume(name);
        VolumeInfo v = torus.setVolumeQos(name, qos.apply(before.qos()));
        System.out.printf("volume '%s': limits %s (were %s)%n", v.name(), qos(v.qos()),
            qos(before.qos()));
      }
      return 0;
    }
  }

  @Command(name = "rekey", mixinStandardHelpOptions = true,
      description = "Wrap an encrypted volume's data keys with another key-encryption key."
          + " The data is not rewritten; afterwards the volume opens only with the new key."
          + " The current key comes from --key-file or --key-env.")
  static final class Rekey implements Callable<Integer> {
    @Mixin
    NodeOptions node;

    @Parameters(index = "0", paramLabel = "NAME", description = "Volume name.")
    String name;

    @Option(names = "--new-key-file", paramLabel = "FILE",
        description = "File with the new key-encryption key.")
    java.nio.file.Path newKeyFile;

    @Option(names = "--new-key-env", paramLabel = "VAR",
        description = "Environment variable with the new key-encryption key.")
    String newKeyEnv;

    @Override
    public Integer call() {
      if ((newKeyFile == null) == (newKeyEnv == null)) {
        throw new UsageError("give the new key with exactly one of --new-key-file and"
            + " --new-key-env");
      }
      io.torus.spi.KeyProvider next;
      try {
        next = newKeyFile != null ? io.torus.KeyProviders.keyFile(newKeyFile)
            : io.torus.KeyProviders.environment(newKeyEnv);
      } catch (io.torus.EncryptionKeyException e) {
        throw new UsageError(e.getMessage());
      }
      try (Torus torus = node.open()) {
        String before = torus.volume(name).encrypted() ? torus.volume(name).encryption().kekId()
            : "none";
        VolumeInfo v = torus.rekeyVolume(name, next);
        System.out.printf("volume '%s': data keys rewrapped, key %s -> %s%n", v.name(), before,
            v.encryption().kekId());
      }
      return 0;
    }
  }
}
