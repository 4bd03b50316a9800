package io.torus.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

/** The diff format's bytes (golden), its reader's checks, and the content digest. */
class DiffFormatTest {
  private static final byte[] BASE_DIGEST = new byte[32];
  private static final byte[] TARGET_DIGEST = new byte[32];

  static {
    Arrays.fill(BASE_DIGEST, (byte) 0xBB);
    Arrays.fill(TARGET_DIGEST, (byte) 0xCC);
  }

  /** A diff of a 1 MiB volume: 4 bytes at 64 KiB, zeros at 128..256 KiB (two records). */
  private static byte[] sample() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    DiffFormat.Writer w = new DiffFormat.Writer(out, new DiffFormat.Header(1 << 20, 4096,
        1 << 20, BASE_DIGEST, "s1", "s2"));
    w.data(65536, ByteBuffer.wrap(new byte[] {1, 2, 3, 4}));
    w.zero(131072, 65536);
    w.zero(196608, 65536); // touches the previous one: merged
    w.finish(TARGET_DIGEST);
    return out.toByteArray();
  }

  @Test
  void goldenBytes() throws IOException {
    String bb = "bb".repeat(32);
    String cc = "cc".repeat(32);
    String beforeCrc = "54444946" + "01" + "000000" // magic, version, reserved
        + "0000000000100000" + "00001000" + "00010000" // size 1 MiB, block 4096, chunk 64K
        + "0000000000100000" + bb // base size, base digest
        + "0002" + "7331" + "0002" + "7332" // "s1", "s2"
        + "01" + "0000000000010000" + "00000004" + "01020304" // DATA
        + "02" + "0000000000020000" + "0000000000020000" // ZERO 128 KiB at 128 KiB
        + "ff" + "0000000000000002" + cc; // END, 2 records, target digest
    byte[] head = HexFormat.of().parseHex(beforeCrc);
    CRC32C crc = new CRC32C();
    crc.update(head);
    String golden = beforeCrc + String.format("%08x", (int) crc.getValue());
    assertThat(HexFormat.of().formatHex(sample())).isEqualTo(golden);
  }

  @Test
  void readerReturnsTheRecordsAndChecksTheEnd() throws IOException {
    DiffFormat.Reader r = new DiffFormat.Reader(new ByteArrayInputStream(sample()));
    assertThat(r.header().baseName()).isEqualTo("s1");
    assertThat(r.header().targetName()).isEqualTo("s2");
    assertThat(r.header().volumeSize()).isEqualTo(1 << 20);
    assertThat(r.header().baseDigest()).isEqualTo(BASE_DIGEST);
    DiffFormat.Record data = r.next();
    assertThat(data.type()).isEqualTo(DiffFormat.TYPE_DATA);
    assertThat(data.offset()).isEqualTo(65536);
    assertThat(data.data()).containsExactly(1, 2, 3, 4);
    DiffFormat.Record zero = r.next();
    assertThat(zero.type()).isEqualTo(DiffFormat.TYPE_ZERO);
    assertThat(zero.offset()).isEqualTo(131072);
    assertThat(zero.length()).isEqualTo(131072);
    DiffFormat.Record end = r.next();
    assertThat(end.type()).isEqualTo(DiffFormat.TYPE_END);
    assertThat(end.data()).isEqualTo(TARGET_DIGEST);
  }

  @Test
  void damagedTruncatedOrForeignStreamsAreRefused() throws IOException {
    byte[] good = sample();
    byte[] flipped = good.clone();
    flipped[flipped.length - 40] ^= 1; // inside the END record's digest
    assertThatThrownBy(() -> readAll(flipped)).hasMessageContaining("checksum mismatch");
    byte[] cut = Arrays.copyOf(good, good.length - 10);
    assertThatThrownBy(() -> readAll(cut)).hasMessageContaining("truncated");
    byte[] foreign = good.clone();
    foreign[0] = 'X';
    assertThatThrownBy(() -> readAll(foreign)).hasMessageContaining("bad magic");
    byte[] newer = good.clone();
    newer[4] = 2;
    assertThatThrownBy(() -> readAll(newer)).hasMessageContaining("version 2");
  }

  @Test
  void recordsOutOfOrderOrPastTheEndAreRefused() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    DiffFormat.Writer w = new DiffFormat.Writer(out, new DiffFormat.Header(1 << 20, 4096,
        1 << 20, BASE_DIGEST, "a", "b"));
    w.data(131072, ByteBuffer.wrap(new byte[8]));
    w.data(65536, ByteBuffer.wrap(new byte[8]));
    w.finish(TARGET_DIGEST);
    assertThatThrownBy(() -> readAll(out.toByteArray())).hasMessageContaining("bad record");

    out.reset();
    w = new DiffFormat.Writer(out, new DiffFormat.Header(65536, 4096, 65536, BASE_DIGEST,
        "a", "b"));
    w.zero(65000, 1000);
    w.finish(TARGET_DIGEST);
    assertThatThrownBy(() -> readAll(out.toByteArray())).hasMessageContaining("bad record");
  }

  @Test
  void digestCoversSizeAndNonZeroChunksOnly() throws Exception {
    ByteBuffer chunk = ByteBuffer.allocate(ContentScan.CHUNK);
    chunk.put(7, (byte) 9);
    DiffFormat.Digest d = new DiffFormat.Digest(1 << 20);
    d.chunk(0, null); // a hole
    d.chunk(65536, ByteBuffer.allocate(ContentScan.CHUNK)); // written zeros: same as a hole
    d.chunk(131072, chunk);
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    sha.update(ByteBuffer.allocate(8).putLong(0, 1 << 20));
    sha.update(ByteBuffer.allocate(8).putLong(0, 2)); // chunk index 2
    sha.update(chunk.duplicate());
    assertThat(d.finish()).isEqualTo(sha.digest());

    DiffFormat.Digest other = new DiffFormat.Digest(2 << 20);
    other.chunk(131072, chunk);
    DiffFormat.Digest same = new DiffFormat.Digest(1 << 20);
    same.chunk(131072, chunk);
    assertThat(other.finish()).as("size is part of the identity").isNotEqualTo(same.finish());
  }

  private static void readAll(byte[] diff) throws IOException {
    DiffFormat.Reader r = new DiffFormat.Reader(new ByteArrayInputStream(diff));
    while (r.next().type() != DiffFormat.TYPE_END) {
      // next
    }
  }
}
