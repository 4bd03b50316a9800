package io.torus.examples.cli;

import io.torus.BlockVolume;
import io.torus.Torus;
import io.torus.VolumeInfo;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.time.Instant;

/**
 * Applies a {@link DiffFormat} diff to a volume, all or nothing.
 *
 * <p>Order: the volume's content digest must equal the diff's base digest (else refused,
 * nothing written); a safety snapshot of the volume is taken; the records are written
 * (unflushed); the result's digest must equal the diff's target digest; only then is the
 * volume flushed (committed) and snapshotted under the diff's target name. If anything fails
 * after writing began, the volume is restored to the safety snapshot. The safety snapshot is
 * deleted at the end, unless restoring it failed (then it is left for the operator). The
 * engine may commit part of a very large diff early (its cap on uncommitted blocks); the
 * restore covers that too. If this process dies mid-way, the safety snapshot is left.
 */
final class DiffImport {
  private DiffImport() {}

  static void apply(Torus torus, String name, InputStream in) throws Exception {
    DiffFormat.Reader r = new DiffFormat.Reader(in);
    DiffFormat.Header h = r.header();
    VolumeInfo info = torus.volume(name);
    if (info.size() != h.baseSize()) {
      throw new IllegalArgumentException("refused: volume '" + name + "' is "
          + info.size() + " bytes, the diff's base " + h.baseName() + " is " + h.baseSize()
          + " bytes; it is not at the diff's base");
    }
    try (BlockVolume v = torus.openVolumeReadOnly(name)) {
      if (!DiffFormat.Digest.same(digest(v, "check base of " + name), h.baseDigest())) {
        throw new IllegalArgumentException("refused: volume '" + name + "' does not have the"
            + " content of the diff's base snapshot '" + h.baseName() + "'; nothing changed");
      }
    }
    String safety = "pre-diff-" + Instant.now().toEpochMilli();
    torus.createSnapshot(name, safety);
    boolean committed = false;
    boolean keepSafety = false;
    try {
      if (h.volumeSize() > info.size()) {
        torus.resizeVolume(name, h.volumeSize());
      }
      BlockVolume v = torus.openVolume(name);
      try {
        byte[] target = applyRecords(r, v, name, h.volumeSize());
        if (!DiffFormat.Digest.same(digest(v, "verify " + name), target)) {
          throw new IOException("the result does not match the diff's target digest");
        }
        v.flush();
        committed = true;
      } finally {
        v.close();
      }
      if (torus.snapshots(name).stream().noneMatch(s -> s.name().equals(h.targetName()))) {
        torus.createSnapshot(name, h.targetName());
      }
      System.out.printf("applied diff %s..%s to volume '%s'; it is now at snapshot %s@%s%n",
          h.baseName(), h.targetName(), name, name, h.targetName());
    } catch (Exception e) {
      if (!committed) {
        keepSafety = true; // if the restore fails, the operator still has it
        try {
          torus.restoreSnapshot(name, safety);
        } catch (RuntimeException restoreFailed) {
          e.addSuppressed(restoreFailed);
          throw new IOException("diff not applied, and volume '" + name + "' could not be"
              + " restored (" + restoreFailed.getMessage() + "); its previous content is snapshot "
              + name + "@" + safety + ": " + e.getMessage(), e);
        }
        keepSafety = false;
        throw new IOException("diff not applied, volume '" + name + "' left as it was: "
            + e.getMessage(), e);
      }
      throw e;
    } finally {
      if (!keepSafety) {
        torus.deleteSnapshot(name, safety);
      }
    }
  }

  private static byte[] applyRecords(DiffFormat.Reader r, BlockVolume v, String name,
      long size) throws IOException {
    Progress p = new Progress("apply diff to " + name, size);
    long changed = 0;
    while (true) {
      DiffFormat.Record rec = r.next();
      if (rec.type() == DiffFormat.TYPE_END) {
        p.finish(rec.length() + " records, " + Size.human(changed) + " changed");
        return rec.data();
      }
      if (rec.type() == DiffFormat.TYPE_DATA) {
        v.write(rec.offset(), ByteBuffer.wrap(rec.data()));
      } else {
        v.writeZeroes(rec.offset(), rec.length());
      }
      changed += rec.length();
      p.at(rec.offset() + rec.length());
    }
  }

  /** The content digest of {@code v} (see {@link DiffFormat}). */
  static byte[] digest(BlockVolume v, String label) throws Exception {
    DiffFormat.Digest d = new DiffFormat.Digest(v.size());
    Progress p = new Progress(label, v.size());
    ContentScan.scan(v, v.size(), (off, len, b) -> {
      d.chunk(off, b);
      p.at(off + len);
    });
    p.end();
    return d.finish();
  }
}
