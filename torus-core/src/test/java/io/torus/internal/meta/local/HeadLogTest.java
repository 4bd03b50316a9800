package io.torus.internal.meta.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Pins the head log format ({@link HeadLog}, {@link HeadChange}) and its replay rules. */
class HeadLogTest {
  /** Magic "TRML", version 1, record size 76, reserved, CRC32C (computed independently). */
  static final String GOLDEN_HEADER = "54524d4c" + "0001" + "004c" + "00000000" + "c8f8505d";

  /** Volume 2 committed at root map:2/4/7, generation 5, revision 9, reserved 4101. */
  static final String GOLDEN_COMMIT = ""
      + "0000004c" + "01" + "01" + "0000"                      // length 76, head, root, pad
      + "0000000000000002" + "0000000000000005"                // volume 2, generation 5
      + "0000000000000009" + "0000000000001005"                // revision 9, reserved 4101
      + "0000000000000009"                                     // global revision 9
      + "0000000000000002" + "0000000000000004" + "00000007" + "000000" + "01" // map:2/4/7
      + "ae300500";                                            // CRC32C

  /** Volume 1 locked with no root: generation 1, revision 10, reserved 4097, global 10. */
  static final String GOLDEN_LOCK = ""
      + "0000004c" + "01" + "00" + "0000"
      + "0000000000000001" + "0000000000000001"
      + "000000000000000a" + "0000000000001001"
      + "000000000000000a"
      + "00".repeat(24)                                        // no root: zeros
      + "a1ccf02f";

  private static final HeadChange COMMIT =
      new HeadChange(2, new BlockRef(2, 4, 7, BlockKind.MAP), 5, 9, 4101, 9);
  private static final HeadChange LOCK = new HeadChange(1, null, 1, 10, 4097, 10);

  @TempDir Path dir;

  @Test
  void encodesToTheGoldenBytesAndBack() {
    assertThat(hex(HeadLog.header())).isEqualTo(GOLDEN_HEADER);
    assertThat(hex(COMMIT.encode())).isEqualTo(GOLDEN_COMMIT);
    assertThat(hex(LOCK.encode())).isEqualTo(GOLDEN_LOCK);
    for (String golden : new String[] {GOLDEN_COMMIT, GOLDEN_LOCK}) {
      ByteBuffer b = ByteBuffer.wrap(HexFormat.of().parseHex(golden));
      assertThat(HeadChange.intact(b, 0)).isTrue();
    }
    assertThat(HeadChange.read(ByteBuffer.wrap(HexFormat.of().parseHex(GOLDEN_COMMIT)), 0))
        .isEqualTo(COMMIT);
    assertThat(HeadChange.read(ByteBuffer.wrap(HexFormat.of().parseHex(GOLDEN_LOCK)), 0))
        .isEqualTo(LOCK);
  }

  /** Volumes 1 (revision 1) and 2 (revision 8); last revision 8. */
  private static LocalState checkpoint() {
    TreeMap<String, VolumeRecord> m = new TreeMap<>();
    m.put("a", new VolumeRecord(1, "a", 1 << 20, 4096, 1, Instant.EPOCH, null, 0, 1));
    m.put("b", new VolumeRecord(2, "b", 1 << 20, 4096, 1, Instant.EPOCH, null, 4, 8));
    return new LocalState(3, 8, m);
  }

  private Path log(String... records) throws IOException {
    Path p = dir.resolve("metadata.log");
    Files.write(p, HexFormat.of().parseHex(GOLDEN_HEADER + String.join("", records)));
    return p;
  }

  @Test
  void replayAppliesTheRecordsAboveTheCheckpoint() throws IOException {
    HeadLog.Replayed r = HeadLog.replay(log(GOLDEN_COMMIT, GOLDEN_LOCK), checkpoint());
    assertThat(r.applied()).isEqualTo(2);
    assertThat(r.validEnd()).isEqualTo(r.size()).isEqualTo(16 + 2 * 76);
    assertThat(r.state().revision()).isEqualTo(10);
    assertThat(r.state().byId(2).head()).isEqualTo(new io.torus.spi.Head(2,
        new BlockRef(2, 4, 7, BlockKind.MAP), 5, 9, 4101));
    assertThat(r.state().byId(1).head().reserved()).isEqualTo(4097);
  }

  @Test
  void recordsAtOrBelowTheCheckpointAreLeftoversAndSkipped() throws IOException {
    LocalState later = checkpoint().withHead(COMMIT).withHead(LOCK);
    HeadLog.Replayed r = HeadLog.replay(log(GOLDEN_COMMIT, GOLDEN_LOCK), later);
    assertThat(r.applied()).isZero();
    assertThat(r.skipped()).isEqualTo(2);
    assertThat(r.state()).isEqualTo(later);
  }

  @Test
  void aTornTailIsDroppedWhateverItsLength() throws IOException {
    byte[] whole = HexFormat.of().parseHex(GOLDEN_HEADER + GOLDEN_COMMIT + GOLDEN_LOCK);
    for (int cut = 16 + 76; cut < whole.length; cut++) {
      Files.write(dir.resolve("metadata.log"), Arrays.copyOf(whole, cut));
      HeadLog.Replayed r = HeadLog.replay(dir.resolve("metadata.log"), checkpoint());
      assertThat(r.applied()).as("cut at %d", cut).isEqualTo(1);
      assertThat(r.validEnd()).isEqualTo(16 + 76);
    }
    byte[] flipped = whole.clone();
    flipped[whole.length - 10] ^= 1; // a whole last record whose CRC fails: torn too
    Files.write(dir.resolve("metadata.log"), flipped);
    assertThat(HeadLog.replay(dir.resolve("metadata.log"), checkpoint()).applied())
        .isEqualTo(1);
    byte[] zeros = Arrays.copyOf(whole, whole.length + 3 * 76); // zero-filled extension
    Files.write(dir.resolve("metadata.log"), zeros);
    assertThat(HeadLog.replay(dir.resolve("metadata.log"), checkpoint()).applied())
        .isEqualTo(2);
  }

  @Test
  void aBadRecordBeforeAnIntactOneIsCorruptionNamingFileAndOffset() throws IOException {
    byte[] bytes = HexFormat.of().parseHex(GOLDEN_HEADER + GOLDEN_COMMIT + GOLDEN_LOCK);
    bytes[16 + 30] ^= 0x40;
    Path p = dir.resolve("metadata.log");
    Files.write(p, bytes);
    assertCorrupt(p, "byte offset 16: bad record");
    assertThat(Files.readAllBytes(p)).isEqualTo(bytes);
  }

  @Test
  void intactRecordsThatBreakTheRulesAreCorruption() throws IOException {
    // A gap after the checkpoint's revision (8): the first record is revision 10.
    assertCorrupt(log(GOLDEN_LOCK), "global revision 10 does not follow 8");
    // Revisions must grow.
    assertCorrupt(log(GOLDEN_COMMIT, GOLDEN_COMMIT), "byte offset 92: global revision 9 does"
        + " not grow");
    // A volume the state does not have.
    HeadChange ghost = new HeadChange(7, null, 1, 9, 4097, 9);
    assertCorrupt(log(hex(ghost.encode())), "does not apply to any volume");
    // A bad header.
    Path p = log(GOLDEN_COMMIT);
    byte[] b = Files.readAllBytes(p);
    b[5] = 2;
    Files.write(p, b);
    assertCorrupt(p, "byte offset 0: bad header");
  }

  private void assertCorrupt(Path p, String why) {
    assertThatThrownBy(() -> HeadLog.replay(p, checkpoint()))
        .isInstanceOf(TorusException.class)
        .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.EIO))
        .hasMessageContaining("corrupt local metadata log " + p)
        .hasMessageContaining(why);
  }

  private static String hex(ByteBuffer b) {
    byte[] out = new byte[b.remaining()];
    b.duplicate().get(out);
    return HexFormat.of().formatHex(out);
  }
}
