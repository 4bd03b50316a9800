package io.torus.internal.meta;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.BlockKind;
import io.torus.BlockRef;
import io.torus.TorusException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** Pins the local metadata file format ({@link LocalStateCodec}) byte for byte. */
class LocalStateCodecTest {
  /**
   * Two volumes: "a" (id 1, 1 MiB, 64 KiB blocks, 2 copies, no root, generation 0, revision 1)
   * and "b2" (id 2, 4 MiB, 4 KiB blocks, 3 copies, root map:2/4/7, generation 5, revision 9);
   * next id 3, last revision 9. Bytes computed independently of the Java code.
   */
  private static final String GOLDEN = ""
      + "54524d44" + "0001" + "0000" + "00000097"            // magic, version, flags, body 151
      + "0000000000000003" + "0000000000000009" + "00000002" // next id, revision, count
      + "0000000000000001" + "0001" + "61"                   // id 1, name "a"
      + "0000000000100000" + "00010000" + "02"               // size, block size, replication
      + "000000006553f100" + "00000005"                      // created s, ns
      + "0000000000000000" + "0000000000000001" + "00"       // generation, revision, no root
      + "0000000000000002" + "0002" + "6232"                 // id 2, name "b2"
      + "0000000000400000" + "00001000" + "03"
      + "000000006553f101" + "00000000"
      + "0000000000000005" + "0000000000000009" + "01"       // generation, revision, root
      + "0000000000000002" + "0000000000000004" + "00000007" + "000000" + "01" // map:2/4/7
      + "7da0e67f";                                          // CRC32C

  private static LocalState sample() {
    TreeMap<String, VolumeRecord> m = new TreeMap<>();
    m.put("b2", new VolumeRecord(2, "b2", 4 << 20, 4096, 3, Instant.ofEpochSecond(1700000001),
        new BlockRef(2, 4, 7, BlockKind.MAP), 5, 9));
    m.put("a", new VolumeRecord(1, "a", 1 << 20, 65536, 2,
        Instant.ofEpochSecond(1700000000, 5), null, 0, 1));
    return new LocalState(3, 9, m);
  }

  @Test
  void encodesToTheGoldenBytes() {
    assertThat(HexFormat.of().formatHex(LocalStateCodec.encode(sample()))).isEqualTo(GOLDEN);
  }

  @Test
  void decodesTheGoldenBytes() {
    LocalState s = LocalStateCodec.decode(HexFormat.of().parseHex(GOLDEN), "golden");
    assertThat(s).isEqualTo(sample());
    assertThat(s.volumes().get("a").created().getNano()).isEqualTo(5);
  }

  @Test
  void emptyStateRoundTrips() {
    byte[] bytes = LocalStateCodec.encode(LocalState.EMPTY);
    assertThat(bytes).hasSize(36);
    assertThat(LocalStateCodec.decode(bytes, "empty")).isEqualTo(LocalState.EMPTY);
  }

  @Test
  void unknownVersionIsRefusedByName() {
    byte[] bytes = HexFormat.of().parseHex(GOLDEN);
    bytes[5] = 2;
    assertThatThrownBy(() -> LocalStateCodec.decode(bytes, "/x/metadata"))
        .isInstanceOf(TorusException.class)
        .hasMessageContaining("/x/metadata")
        .hasMessageContaining("unsupported format version 2");
  }

  @Test
  void validCrcOverInvalidFieldsIsStillRefused() {
    TreeMap<String, VolumeRecord> m = new TreeMap<>();
    // An id at or above the next id would let a new volume reuse it.
    m.put("a", new VolumeRecord(5, "a", 1 << 20, 65536, 2, Instant.EPOCH, null, 0, 1));
    byte[] bytes = LocalStateCodec.encode(new LocalState(3, 9, m));
    assertThatThrownBy(() -> LocalStateCodec.decode(bytes, "f"))
        .isInstanceOf(TorusException.class)
        .hasMessageContaining("corrupt local metadata file f")
        .hasMessageContaining("inconsistent volume entry 0");
  }
}
