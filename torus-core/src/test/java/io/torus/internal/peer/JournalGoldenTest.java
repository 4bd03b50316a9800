package io.torus.internal.peer;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.internal.transport.JournalRecord;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The bytes of a {@code journal.log} record are fixed (see src-docs/formats.md). */
class JournalGoldenTest {
  /** Entry of volume 5, epoch 9, generation 3, checkpoint 1, bytes 01 02 03. */
  static final String ENTRY = "544a4e4c" + "01" + "0000000000000005" + "0000000000000009"
      + "0000000000000003" + "0000000000000001" + "00000003" + "010203" + "820b2ada";
  /** Checkpoint-only record of volume 5, checkpoint 7. */
  static final String CHECKPOINT = "544a4e4c" + "02" + "0000000000000005" + "0000000000000000"
      + "0000000000000000" + "0000000000000007" + "00000000" + "5b2bfb8a";

  @TempDir Path dir;

  @Test
  void recordBytesAreFixed() {
    ByteBuffer e = JournalTable.record(JournalTable.ENTRY, 5, 9, 3, 1, new byte[] {1, 2, 3});
    assertThat(HexFormat.of().formatHex(e.array())).isEqualTo(ENTRY);
    ByteBuffer c = JournalTable.record(JournalTable.CHECKPOINT, 5, 0, 0, 7, new byte[0]);
    assertThat(HexFormat.of().formatHex(c.array())).isEqualTo(CHECKPOINT);
  }

  @Test
  void replaysTheGoldenRecords() throws Exception {
    Path log = dir.resolve("journal.log");
    // the entry, then a zero magic (preallocated space) where replay stops
    Files.write(log, HexFormat.of().parseHex(ENTRY + "00".repeat(64)));
    try (JournalTable t = new JournalTable(log)) {
      assertThat(t.fence(5, 0, () -> { }))
          .containsExactly(new JournalRecord(3, new byte[] {1, 2, 3}));
      assertThat(t.checkpoint(5)).isEqualTo(1);
    }
    assertThat(Files.size(log)).isEqualTo(ENTRY.length() / 2);
    Files.write(log, HexFormat.of().parseHex(ENTRY + CHECKPOINT));
    try (JournalTable t = new JournalTable(log)) {
      assertThat(t.fence(5, 0, () -> { })).isEmpty();
      assertThat(t.checkpoint(5)).isEqualTo(7);
    }
    assertThat(Files.size(log)).isEqualTo((ENTRY + CHECKPOINT).length() / 2);
  }
}
