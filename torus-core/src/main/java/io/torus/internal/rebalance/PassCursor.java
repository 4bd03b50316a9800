package io.torus.internal.rebalance;

import io.torus.spi.BlockRef;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HexFormat;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where a background pass (rebalance or scrub) over a peer's blocks stands, persisted so a
 * restarted peer resumes instead of starting over. One line of UTF-8 text, replaced
 * atomically (written to {@code NAME.tmp}, then renamed):
 *
 * <pre>
 * v1 ring=N volume=N after=HEX48|- clean=true|false
 *   ring   the ring version the pass works against (0 for scrub)
 *   volume the volume being scanned
 *   after  the last block ref of that volume already handled (24 bytes, hex), or - for none
 *   clean  whether everything handled so far in this pass was complete
 * </pre>
 *
 * <p>The cursor is an optimization only: a missing or damaged file starts the pass over,
 * which is always safe (every step of a pass is idempotent). Not thread-safe: one pass owns
 * it.
 *
 * @param ring the ring version
 * @param volume the volume id
 * @param after the last handled ref of {@code volume}, or null
 * @param clean whether the pass has been complete so far
 */
public record PassCursor(long ring, long volume, BlockRef after, boolean clean) {
  private static final Logger log = LoggerFactory.getLogger(PassCursor.class);
  private static final Pattern LINE = Pattern.compile(
      "v1 ring=(\\d{1,19}) volume=(\\d{1,19}) after=([0-9a-f]{48}|-) clean=(true|false)\n?");

  /** The line stored for this cursor. */
  public String encode() {
    String a = "-";
    if (after != null) {
      ByteBuffer b = ByteBuffer.allocate(BlockRef.BYTES);
      after.writeTo(b);
      a = HexFormat.of().formatHex(b.array());
    }
    return "v1 ring=" + ring + " volume=" + volume + " after=" + a + " clean=" + clean + "\n";
  }

  /** Parses a stored line; empty if it is not a valid cursor. */
  public static Optional<PassCursor> decode(String line) {
    Matcher m = LINE.matcher(line);
    if (!m.matches()) {
      return Optional.empty();
    }
    try {
      BlockRef after = m.group(3).equals("-") ? null
          : BlockRef.readFrom(ByteBuffer.wrap(HexFormat.of().parseHex(m.group(3))));
      return Optional.of(new PassCursor(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)),
          after, Boolean.parseBoolean(m.group(4))));
    } catch (RuntimeException e) {
      return Optional.empty();
    }
  }

  /** The cursor stored at {@code file}, or empty (none, unreadable or damaged). */
  public static Optional<PassCursor> load(Path file) {
    if (file == null || !Files.exists(file)) {
      return Optional.empty();
    }
    try {
      Optional<PassCursor> c = decode(Files.readString(file, StandardCharsets.UTF_8));
      if (c.isEmpty()) {
        log.warn("progress file {} is damaged; the pass starts over", file);
      }
      return c;
    } catch (IOException e) {
      log.warn("cannot read progress file {}; the pass starts over: {}", file, e.toString());
      return Optional.empty();
    }
  }

  /** Stores this cursor at {@code file} (atomically); failures are logged, not thrown. */
  public void save(Path file) {
    if (file == null) {
      return;
    }
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    try {
      Files.writeString(tmp, encode(), StandardCharsets.UTF_8);
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      log.warn("cannot save progress to {}: {}", file, e.toString());
    }
  }
}
