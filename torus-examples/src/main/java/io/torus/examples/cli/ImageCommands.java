package io.torus.examples.cli;

import io.torus.BlockVolume;
import io.torus.Torus;
import io.torus.VolumeInfo;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code torus volume export} and {@code torus volume import}: raw images (holes stay holes in
 * a sparse file) and incremental diffs between snapshots ({@link DiffFormat}).
 */
final class ImageCommands {
  private ImageCommands() {}

  @Command(name = "export", mixinStandardHelpOptions = true,
      description = {"Write a volume or snapshot as a raw image to FILE (sparse: holes stay"
          + " holes) or to standard output (-).",
          "With --since SNAP1 and NAME@SNAP2: write only what differs between the two"
              + " snapshots, as a Torus diff (see src-docs/formats.md)."})
  static final class Export implements Callable<Integer> {
    @Mixin
    NodeOptions node;

    @Option(names = "--since", paramLabel = "SNAP1",
        description = "Base snapshot of an incremental diff.")
    String since;

    @Parameters(index = "0", paramLabel = "NAME[@SNAP]", description = "What to export.")
    String source;

    @Parameters(index = "1", paramLabel = "FILE|-", description = "Where to (- = stdout).")
    String target;

    @Override
    public Integer call() throws Exception {
      VolRef ref = VolRef.parse(source);
      if (since != null && !ref.isSnapshot()) {
        throw new IllegalArgumentException("--since needs a snapshot to diff to: NAME@SNAP2");
      }
      try (Torus torus = node.open()) {
        if (since != null) {
          exportDiff(torus, ref);
        } else {
          try (BlockVolume v = ref.isSnapshot() ? torus.openSnapshot(ref.volume(),
              ref.snapshot()) : torus.openVolumeReadOnly(ref.volume())) {
            exportRaw(v, ref);
          }
        }
      }
      return 0;
    }

    private void exportRaw(BlockVolume v, VolRef ref) throws Exception {
      Progress p = new Progress("export " + ref, v.size());
      long[] data = {0};
      if (target.equals("-")) {
        OutputStream out = new BufferedOutputStream(System.out, 1 << 20);
        byte[] zeros = new byte[ContentScan.CHUNK];
        ContentScan.scan(v, v.size(), (off, len, b) -> {
          if (b == null) {
            out.write(zeros, 0, len);
          } else {
            out.write(b.array(), 0, len);
            data[0] += len;
          }
          p.at(off + len);
        });
        out.flush();
      } else {
        try (FileChannel ch = FileChannel.open(Path.of(target), StandardOpenOption.CREATE,
            StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
          ContentScan.scan(v, v.size(), (off, len, b) -> {
            if (b != null && !ContentScan.isZero(b)) {
              while (b.hasRemaining()) {
                ch.write(b, off + b.position());
              }
              data[0] += len;
            }
            p.at(off + len);
          });
          ch.truncate(v.size());
          if (ch.size() < v.size()) { // trailing hole: extend without writing
            ch.write(ByteBuffer.allocate(1), v.size() - 1);
          }
          ch.force(true);
        }
      }
      p.finish(Size.human(data[0]) + " of data in a " + Size.format(v.size()) + " image");
    }

    private void exportDiff(Torus torus, VolRef ref) throws Exception {
      try (BlockVolume base = torus.openSnapshot(ref.volume(), since);
          BlockVolume tgt = torus.openSnapshot(ref.volume(), ref.snapshot())) {
        if (tgt.size() < base.size()) {
          throw new IllegalArgumentException("snapshot " + ref + " is smaller than "
              + ref.volume() + "@" + since + "; volumes never shrink, is the order reversed?");
        }
        DiffFormat.Digest baseDigest = new DiffFormat.Digest(base.size());
        Progress p1 = new Progress("digest " + ref.volume() + "@" + since, base.size());
        ContentScan.scan(base, base.size(), (off, len, b) -> {
          baseDigest.chunk(off, b);
          p1.at(off + len);
        });
        p1.end();
        OutputStream sink = target.equals("-") ? System.out
            : Files.newOutputStream(Path.of(target));
        try (OutputStream out = new BufferedOutputStream(sink, 1 << 20)) {
          DiffFormat.Writer w = new DiffFormat.Writer(out, new DiffFormat.Header(tgt.size(),
              tgt.blockSize(), base.size(), baseDigest.finish(), since, ref.snapshot()));
          byte[] digest = writeRecords(base, tgt, w, ref);
          w.finish(digest);
          if (target.equals("-")) {
            out.flush();
            return; // System.out stays open
          }
        }
      }
    }

    /** Compares the two snapshots chunk by chunk; returns the target's content digest. */
    private static byte[] writeRecords(BlockVolume base, BlockVolume tgt, DiffFormat.Writer w,
        VolRef ref) throws Exception {
      DiffFormat.Digest digest = new DiffFormat.Digest(tgt.size());
      Progress p = new Progress("diff " + ref, tgt.size());
      long[] changed = {0};
      ContentScan.scan(java.util.List.of(base, tgt), tgt.size(), (off, len, data) -> {
        ByteBuffer was = data[0];
        ByteBuffer now = data[1];
        digest.chunk(off, now);
        boolean nowZero = now == null || ContentScan.isZero(now);
        boolean wasZero = was == null || ContentScan.isZero(was);
        if (nowZero && !wasZero) {
          w.zero(off, len);
          changed[0] += len;
        } else if (!nowZero && (wasZero || !now.equals(was))) {
          w.data(off, now);
          changed[0] += len;
        }
        p.at(off + len);
      });
      p.finish(w.count() + " records, " + Size.human(changed[0]) + " changed");
      return digest.finish();
    }
  }

  @Command(name = "import", mixinStandardHelpOptions = true,
      description = {"Create volume NAME from a raw image FILE (or standard input: -,"
          + " with --size). All-zero blocks are not written (they stay holes).",
          "With --diff: apply a Torus diff to the existing volume NAME, which must have the"
              + " diff's base content; then snapshot it as the diff's target."})
  static final class Import implements Callable<Integer> {
    @Mixin
    NodeOptions node;

    @Mixin
    VolumeCommand.SpecOptions specOptions;

    @Option(names = "--diff", description = "FILE is a diff made by 'export --since'.")
    boolean diff;

    @Option(names = "--size", paramLabel = "SIZE",
        description = "Size of the volume when the image comes from standard input.")
    Size size;

    @Parameters(index = "0", paramLabel = "FILE|-", description = "Image or diff (- = stdin).")
    String source;

    @Parameters(index = "1", paramLabel = "NAME", description = "Volume name.")
    String name;

    @Override
    public Integer call() throws Exception {
      try (Torus torus = node.open()) {
        if (diff) {
          try (InputStream in = new BufferedInputStream(open(), 1 << 20)) {
            DiffImport.apply(torus, name, in);
          }
        } else {
          importRaw(torus);
        }
      }
      return 0;
    }

    private InputStream open() throws IOException {
      return source.equals("-") ? System.in : Files.newInputStream(Path.of(source));
    }

    private void importRaw(Torus torus) throws Exception {
      long bytes;
      if (source.equals("-")) {
        if (size == null) {
          throw new IllegalArgumentException("importing from standard input needs --size");
        }
        bytes = size.bytes();
      } else {
        bytes = size != null ? size.bytes() : Files.size(Path.of(source));
      }
      long volSize = Math.max(512, (bytes + 511) / 512 * 512);
      VolumeInfo info = torus.createVolume(specOptions.spec(torus, name, volSize,
          node.data == null ? 0 : NodeOptions.storeDirs(node.data).size(), node.keyProviders()));
      Progress p = new Progress("import " + name, bytes);
      long written = 0;
      long pos = 0;
      try (InputStream in = new BufferedInputStream(open(), 1 << 20);
          BlockVolume v = torus.openVolume(info.name())) {
        byte[] chunk = new byte[ContentScan.CHUNK];
        while (pos < volSize) {
          int n = in.readNBytes(chunk, 0, (int) Math.min(chunk.length, volSize - pos));
          if (n == 0) {
            break;
          }
          ByteBuffer b = ByteBuffer.wrap(chunk, 0, n);
          if (!ContentScan.isZero(b)) {
            v.write(pos, b);
            written += n;
          }
          pos += n;
          p.at(pos);
        }
        if (in.read() >= 0) {
          throw new IllegalArgumentException("the image is larger than --size " + size);
        }
        v.flush();
      }
      p.finish(Size.human(written) + " of data into volume '" + name + "' ("
          + Size.format(volSize) + ")");
    }
  }
}
