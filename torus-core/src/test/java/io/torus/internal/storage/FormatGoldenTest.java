package io.torus.internal.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Freezes the on-disk formats of the file block store byte for byte. The CRC32C values were
 * computed independently (bitwise, polynomial 0x82F63B78) from the bytes before them.
 */
class FormatGoldenTest {
  private static final HexFormat HEX = HexFormat.of().withUpperCase();
  private static final BlockRef REF =
      new BlockRef(0x0102030405060708L, 0x1112131415161718L, 0x21222324, BlockKind.MAP);
  private static final String REF_HEX =
      "0102030405060708" + "1112131415161718" + "21222324" + "000000" + "01";

  private static String hex(ByteBuffer b) {
    byte[] out = new byte[b.remaining()];
    b.duplicate().get(out);
    return HEX.formatHex(out);
  }

  private static ByteBuffer unhex(String s) {
    return ByteBuffer.wrap(HEX.parseHex(s));
  }

  @Test
  void blockHeader() {
    String golden = "54424C4B" + "0001" + "0030" + REF_HEX + "00001000" + "DEADBEEF"
        + "00000000" + "F462B3D9";
    assertThat(hex(BlockHeader.encode(REF, 4096, 0xDEADBEEF))).isEqualTo(golden);
    BlockHeader.Parsed p = BlockHeader.read(unhex(golden), 0);
    assertThat(p).isEqualTo(new BlockHeader.Parsed(REF, 4096, 0xDEADBEEF));
  }

  @Test
  void blockHeaderWithFlippedBitIsRejected() {
    ByteBuffer b = BlockHeader.encode(REF, 4096, 0xDEADBEEF);
    b.put(33, (byte) (b.get(33) ^ 0x04));
    assertThatThrownBy(() -> BlockHeader.read(b, 0))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("CRC32C");
  }

  @Test
  void indexPutRecord() {
    String golden = REF_HEX + "01" + "00" + "0002" + "00000010" + "00001000" + "E78BF1B6";
    IndexRecord r = new IndexRecord(REF, new Location(2, 16, 4096));
    ByteBuffer b = ByteBuffer.allocate(IndexRecord.SIZE);
    r.writeTo(b);
    assertThat(hex(b.flip())).isEqualTo(golden);
    assertThat(IndexRecord.read(unhex(golden), 0)).isEqualTo(r);
  }

  @Test
  void indexDeleteRecord() {
    String golden = REF_HEX + "02" + "00" + "0000" + "00000000" + "00000000" + "E96FC7D5";
    IndexRecord r = new IndexRecord(REF, null);
    ByteBuffer b = ByteBuffer.allocate(IndexRecord.SIZE);
    r.writeTo(b);
    assertThat(hex(b.flip())).isEqualTo(golden);
    assertThat(IndexRecord.read(unhex(golden), 0)).isEqualTo(r);
  }

  @Test
  void indexRecordWithBadCrcOrZerosIsNotARecord() {
    String golden = REF_HEX + "02" + "00" + "0000" + "00000000" + "00000000" + "E96FC7D5";
    ByteBuffer b = unhex(golden);
    b.put(0, (byte) 0x09);
    assertThat(IndexRecord.read(b, 0)).isNull();
    assertThat(IndexRecord.read(ByteBuffer.allocate(IndexRecord.SIZE), 0)).isNull();
    assertThat(IndexRecord.read(ByteBuffer.allocate(IndexRecord.SIZE - 1), 0)).isNull();
  }

  @Test
  void superblock() {
    String golden = "544F525553464253" + "0001" + "0003" + "00001000" + "0000000000000100"
        + "CF7119F3";
    Superblock sb = new Superblock(3, 256);
    assertThat(hex(sb.encode())).isEqualTo(golden);
    assertThat(Superblock.decode(unhex(golden))).isEqualTo(sb);
    assertThat(sb.capacity()).isEqualTo(3L * 256 * 4096);
    ByteBuffer bad = unhex(golden);
    bad.put(27, (byte) 0);
    assertThatThrownBy(() -> Superblock.decode(bad)).hasMessageContaining("CRC32C");
  }

  @Test
  void indexLogHeader() {
    assertThat(hex(IndexLog.header())).isEqualTo("54494458" + "0001" + "0028" + "00000000"
        + "6FDC4644");
  }

  /**
   * A put writes, at its extent, the header {@link #blockHeader} freezes followed by the
   * payload, and nothing after it; a flush appends the golden put record.
   */
  @Test
  void aStoredBlockOnDiskIsTheGoldenHeaderThenThePayload(@TempDir Path dir) throws IOException {
    byte[] payload = TestBlocks.bytes(5000, 42);
    int crc = TestBlocks.crc(payload);
    Location loc;
    try (FileBlockStore s = FileStoreOpener.open(dir, 1 << 20, 1, 64)) {
      s.put(REF, ByteBuffer.wrap(payload), crc);
      loc = s.location(REF);
      s.flush();
    }
    byte[] file = Files.readAllBytes(FileStoreOpener.dataFile(dir, 0));
    int at = (int) loc.offset();
    assertThat(HEX.formatHex(file, at, at + BlockHeader.SIZE))
        .isEqualTo(hex(BlockHeader.encode(REF, 5000, crc)));
    assertThat(Arrays.copyOfRange(file, at + BlockHeader.SIZE, at + BlockHeader.SIZE + 5000))
        .isEqualTo(payload);
    int end = at + loc.units() * FileBlockStore.UNIT;
    assertThat(Arrays.copyOfRange(file, at + BlockHeader.SIZE + 5000, end)).containsOnly(0);
    byte[] log = Files.readAllBytes(dir.resolve(FileStoreOpener.INDEX));
    ByteBuffer record = ByteBuffer.allocate(IndexRecord.SIZE);
    new IndexRecord(REF, loc).writeTo(record);
    assertThat(HEX.formatHex(log, IndexLog.HEADER_SIZE, log.length))
        .isEqualTo(hex(record.flip()));
  }
}
