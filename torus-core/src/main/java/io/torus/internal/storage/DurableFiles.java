package io.torus.internal.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/** File operations that are atomic and durable: whole-file replace, directory sync. */
public final class DurableFiles {
  private DurableFiles() {}

  /**
   * Replaces {@code target} with {@code content}: writes a temp file beside it, forces it,
   * renames it over the target atomically and forces the directory. After a crash the target
   * holds either its old or its new content, whole.
   */
  public static void replace(Path target, ByteBuffer content) throws IOException {
    Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE,
        StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
      ByteBuffer b = content.duplicate();
      while (b.hasRemaining()) {
        ch.write(b);
      }
      ch.force(true);
    }
    rename(tmp, target);
  }

  /** Renames {@code from} over {@code to} atomically, then forces the directory. */
  public static void rename(Path from, Path to) throws IOException {
    java.nio.file.Files.move(from, to, StandardCopyOption.ATOMIC_MOVE,
        StandardCopyOption.REPLACE_EXISTING);
    syncDirectory(to.toAbsolutePath().getParent());
  }

  /** Forces a directory's entries to disk (a no-op where the platform cannot). */
  public static void syncDirectory(Path dir) throws IOException {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException e) {
      if (System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT)
          .startsWith("windows")) {
        return; // directories cannot be opened there; NTFS journals renames
      }
      throw e;
    }
  }
}
