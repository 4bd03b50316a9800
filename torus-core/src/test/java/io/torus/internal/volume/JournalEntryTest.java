package io.torus.internal.volume;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.TorusException;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import java.util.HexFormat;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** The flush journal entry's binary form (src-docs/formats.md, "Flush journal entry"). */
class JournalEntryTest {
  /** Volume 7, generation 9: block 3 to data ref 7/9/0, block 5 a hole (CRC32C computed apart). */
  static final String GOLDEN = "544a454e" + "01000000" + "0000000000000007"
      + "0000000000000009" + "00000002"
      + "0000000000000003" + "0000000000000007" + "0000000000000009" + "00000000" + "00000000"
      + "0000000000000005" + "000000000000000000000000000000000000000000000000"
      + "ddb9564e";

  private static JournalEntry sample() {
    TreeMap<Long, BlockRef> changes = new TreeMap<>();
    changes.put(3L, new BlockRef(7, 9, 0, BlockKind.DATA));
    changes.put(5L, null);
    return new JournalEntry(7, 9, changes);
  }

  @Test
  void encodesToTheDocumentedBytes() {
    byte[] bytes = sample().encode();
    assertThat(bytes).hasSize(JournalEntry.bytes(2));
    assertThat(HexFormat.of().formatHex(bytes)).isEqualTo(GOLDEN);
  }

  @Test
  void decodesWhatItEncodes() {
    JournalEntry back = JournalEntry.decode(HexFormat.of().parseHex(GOLDEN), 7, "test");
    assertThat(back.volumeId()).isEqualTo(7);
    assertThat(back.generation()).isEqualTo(9);
    assertThat(back.changes()).isEqualTo(sample().changes());
    assertThat(back.changes()).containsEntry(5L, null);
  }

  @Test
  void refusesDamageAndOtherVolumes() {
    byte[] bytes = HexFormat.of().parseHex(GOLDEN);
    bytes[40] ^= 1;
    assertThatThrownBy(() -> JournalEntry.decode(bytes, 7, "peer p"))
        .isInstanceOf(TorusException.class).hasMessageContaining("checksum")
        .hasMessageContaining("peer p");
    assertThatThrownBy(() -> JournalEntry.decode(HexFormat.of().parseHex(GOLDEN), 8, "p"))
        .isInstanceOf(TorusException.class).hasMessageContaining("volume 7");
    assertThatThrownBy(() -> JournalEntry.decode(new byte[10], 7, "p"))
        .isInstanceOf(TorusException.class);
  }
}
