package io.torus.internal.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.CorruptBlockException;
import io.torus.EncryptionKeyException;
import io.torus.KeyProviders;
import io.torus.internal.map.MapNode;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.spi.KeyProvider;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HexFormat;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

/** Golden bytes of encrypted blocks, sealed map nodes and wrapped keys (src-docs/formats.md). */
class EncryptionFormatTest {
  private static final HexFormat HEX = HexFormat.of();
  /** Data key 00 01 02 ... 1f. */
  private static final byte[] KEY = HEX.parseHex(
      "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  private static final BlockRef DATA = new BlockRef(7, 3, 5, BlockKind.DATA);
  private static final byte[] PLAIN = "sixteen bytes!!!".getBytes(StandardCharsets.US_ASCII);

  /** AES-256-GCM of {@link #PLAIN} under {@link #KEY} as block {@link #DATA}: ciphertext, tag. */
  static final String GOLDEN_DATA =
      "c33ba2bc38dfa3eedf72ed0c459c05c9" + "fc5ad357fefa2244f1039365d1d98b30";

  private static ByteBuffer seal(BlockRef ref, byte[] plain) {
    ByteBuffer out = ByteBuffer.allocate(plain.length + BlockCipher.TAG_BYTES);
    new BlockCipher(KEY).seal(ref, ByteBuffer.wrap(plain), null, out);
    return out.flip();
  }

  private static String hex(ByteBuffer b) {
    byte[] a = new byte[b.remaining()];
    b.duplicate().get(a);
    return HEX.formatHex(a);
  }

  @Test
  void aDataBlockIsItsCiphertextThenTheTag() {
    assertThat(hex(seal(DATA, PLAIN))).isEqualTo(GOLDEN_DATA);
  }

  @Test
  void theConstructionIsTheDocumentedOne() throws Exception {
    // nonce: generation (8 bytes) then sequence (4); associated data: the 24-byte ref
    Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
    c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(KEY, "AES"), new GCMParameterSpec(128,
        HEX.parseHex("0000000000000003" + "00000005")));
    c.updateAAD(HEX.parseHex("0000000000000007" + "0000000000000003" + "00000005"
        + "000000" + "0" + BlockKind.DATA.id()));
    assertThat(c.doFinal(HEX.parseHex(GOLDEN_DATA))).isEqualTo(PLAIN);
  }

  @Test
  void everyChangedByteOrOtherNameFailsAuthentication() {
    BlockCipher cipher = new BlockCipher(KEY);
    byte[] sealed = HEX.parseHex(GOLDEN_DATA);
    for (int i = 0; i < sealed.length; i++) {
      byte[] bad = sealed.clone();
      bad[i] ^= 0x40;
      assertThatThrownBy(() -> cipher.open(DATA, ByteBuffer.wrap(bad), null))
          .isInstanceOf(CorruptBlockException.class).hasMessageContaining(DATA.toString());
    }
    for (BlockRef other : new BlockRef[] {new BlockRef(8, 3, 5, BlockKind.DATA),
        new BlockRef(7, 4, 5, BlockKind.DATA), new BlockRef(7, 3, 6, BlockKind.DATA),
        new BlockRef(7, 3, 5, BlockKind.MAP)}) {
      assertThatThrownBy(() -> cipher.open(other, ByteBuffer.wrap(sealed), null))
          .isInstanceOf(CorruptBlockException.class);
    }
    assertThat(cipher.open(DATA, ByteBuffer.wrap(sealed), null))
        .isEqualTo(ByteBuffer.wrap(PLAIN));
  }

  /**
   * {@link #PLAIN} as the flush-journal entry of generation 5 of volume 7: key HMAC-SHA256 of
   * "torus flush journal key v1" under {@link #KEY}, nonce 5 then ff ff ff ff, associated data
   * "TJES", volume, generation (checked against an independent AES-GCM and HMAC).
   */
  static final String GOLDEN_JOURNAL =
      "bdcc9a5d5018fdf1700332824506924524e025e3b0f7a21e8500ddc397883df5";

  @Test
  void aSealedJournalEntryUsesADerivedKeyAndItsGeneration() {
    BlockCipher journal = new BlockCipher(KEY).derive(SealedJournal.KEY_PURPOSE);
    ByteBuffer out = ByteBuffer.allocate(PLAIN.length + BlockCipher.TAG_BYTES);
    journal.seal(SealedJournal.nonce(5), SealedJournal.aad(7, 5), null, ByteBuffer.wrap(PLAIN),
        out, "entry");
    assertThat(hex(out.flip())).isEqualTo(GOLDEN_JOURNAL);
    // another generation or volume does not open it
    assertThatThrownBy(() -> journal.open(SealedJournal.nonce(6), SealedJournal.aad(7, 6), null,
        ByteBuffer.wrap(HEX.parseHex(GOLDEN_JOURNAL)), "entry"))
        .isInstanceOf(CorruptBlockException.class);
    assertThatThrownBy(() -> journal.open(SealedJournal.nonce(5), SealedJournal.aad(8, 5), null,
        ByteBuffer.wrap(HEX.parseHex(GOLDEN_JOURNAL)), "entry"))
        .isInstanceOf(CorruptBlockException.class);
  }

  /** A leaf with slot 9 → data:7/2/0 and slot 1 → data:7/2/1, stored as map:7/2/2. */
  static final String GOLDEN_NODE = "544d4145" + "01000a00" + "00000002"
      + "0000000000000007" + "0000000000000002" + "00000000" + "00000000"
      + "0000000000000007" + "0000000000000002" + "00000001" + "00000000"
      + "a65e0b853f06b159" + "330aea349b46690bcac39d779400d15f";

  private static MapNode leaf() {
    return MapNode.of(new BlockRef(7, 2, 2, BlockKind.MAP), MapNode.RADIX, 0, new long[] {1, 9},
        new BlockRef[] {new BlockRef(7, 2, 1, BlockKind.DATA),
            new BlockRef(7, 2, 0, BlockKind.DATA)});
  }

  @Test
  void aSealedMapNodeHasClearSortedRefsAndSealedSlots() {
    BlockRef ref = new BlockRef(7, 2, 2, BlockKind.MAP);
    BlockCipher cipher = new BlockCipher(KEY);
    ByteBuffer sealed = SealedNodes.seal(cipher, ref, leaf().encode());
    assertThat(hex(sealed)).isEqualTo(GOLDEN_NODE);
    assertThat(GOLDEN_NODE).startsWith("544d4145" + "01" + "00" + "0a" + "00" + "00000002"
        + "0000000000000007" + "0000000000000002" + "00000000" + "000000" + "00"
        + "0000000000000007" + "0000000000000002" + "00000001" + "000000" + "00");
    assertThat(sealed.remaining()).isEqualTo(12 + 2 * 24 + 2 * 4 + 16);
    // without the key: an opaque node with the refs (what garbage collection reads)
    MapNode opaque = MapNode.decode(ref, sealed);
    assertThat(opaque.opaque()).isTrue();
    assertThat(opaque.refAt(0)).isEqualTo(new BlockRef(7, 2, 0, BlockKind.DATA));
    assertThatThrownBy(() -> opaque.get(1)).isInstanceOf(IllegalStateException.class);
    // with the key: the plain node again
    assertThat(SealedNodes.open(cipher, ref, sealed)).isEqualTo(leaf().encode());
    // the clear refs are authenticated too
    byte[] bad = HEX.parseHex(GOLDEN_NODE);
    bad[12 + 19] ^= 1; // sequence of the first ref: 0 becomes 1
    assertThatThrownBy(() -> SealedNodes.open(cipher, ref, ByteBuffer.wrap(bad)))
        .isInstanceOf(CorruptBlockException.class);
  }

  /**
   * The same leaf as a version 2 (B+-tree) node: block 1 → data:7/2/1, block 9 → data:7/2/0;
   * sealed bytes computed independently (Python {@code cryptography}, AES-GCM).
   */
  static final String GOLDEN_NODE_V2 = "544d4145" + "02" + "00" + "0000" + "00000002"
      + "03" + "07" + "02" + "00" + "00" + "02"
      + "a65e0b8c3f06b151bb4df9c63e9123bb" + "e1eefd84559561173999518e45dd8c5f";

  @Test
  void aSealedVersion2MapNodeHasPackedClearRefsAndSealedBlockIndexes() {
    BlockRef ref = new BlockRef(7, 2, 2, BlockKind.MAP);
    MapNode leaf = MapNode.of(ref, MapNode.SORTED, 0, new long[] {1, 9},
        new BlockRef[] {new BlockRef(7, 2, 1, BlockKind.DATA),
            new BlockRef(7, 2, 0, BlockKind.DATA)});
    assertThat(hex(leaf.encode())).isEqualTo("544d4150" + "02" + "00" + "0000" + "00000002"
        + "01" + "03" + "07" + "02" + "02" + "07" + "00" + "01");
    BlockCipher cipher = new BlockCipher(KEY);
    ByteBuffer sealed = SealedNodes.seal(cipher, ref, leaf.encode());
    assertThat(hex(sealed)).isEqualTo(GOLDEN_NODE_V2);
    MapNode opaque = MapNode.decode(ref, sealed);
    assertThat(opaque.opaque()).isTrue();
    assertThat(opaque.version()).isEqualTo(MapNode.SORTED);
    assertThat(opaque.refAt(0)).isEqualTo(new BlockRef(7, 2, 0, BlockKind.DATA));
    assertThat(opaque.refAt(1)).isEqualTo(new BlockRef(7, 2, 1, BlockKind.DATA));
    assertThat(SealedNodes.open(cipher, ref, sealed)).isEqualTo(leaf.encode());
    byte[] bad = HEX.parseHex(GOLDEN_NODE_V2);
    bad[17] ^= 4; // the second ref's sequence delta: +1 becomes +3
    assertThatThrownBy(() -> SealedNodes.open(cipher, ref, ByteBuffer.wrap(bad)))
        .isInstanceOf(CorruptBlockException.class);
    ByteBuffer cut = ByteBuffer.wrap(HEX.parseHex(GOLDEN_NODE_V2), 0, 30);
    assertThatThrownBy(() -> MapNode.decode(ref, cut)).isInstanceOf(CorruptBlockException.class)
        .hasMessageContaining(ref.toString());
  }

  @Test
  void keyFilesAndWrappedKeysHaveTheirDocumentedForms() {
    String hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    KeyProvider fromHex = StaticKeyProvider.parse((hex + "\n").getBytes(), "f");
    KeyProvider fromBase64 = StaticKeyProvider.parse(
        Base64.getEncoder().encode(KEY), "f");
    KeyProvider fromRaw = StaticKeyProvider.parse(KEY, "f");
    assertThat(fromHex.keyId()).isEqualTo("static:2fd3f1b5e91c3b3b")
        .isEqualTo(fromBase64.keyId()).isEqualTo(fromRaw.keyId());
    // AES key wrap: RFC 3394's test vector 4.6 (256-bit key data, 256-bit KEK)
    byte[] dataKey = HEX.parseHex(
        "00112233445566778899aabbccddeeff000102030405060708090a0b0c0d0e0f");
    assertThat(HEX.formatHex(fromHex.wrap(dataKey))).isEqualTo("28c9f404c4b810f4cbccb35cfb87f826"
        + "3f5786e2d80ed326cbc7f0e71a99f43bfb988b9b7a02dd21");
    assertThat(fromHex.unwrap(fromHex.wrap(dataKey))).isEqualTo(dataKey);
    KeyProvider other = KeyProviders.ofKey(new byte[32]);
    assertThatThrownBy(() -> other.unwrap(fromHex.wrap(dataKey)))
        .isInstanceOf(EncryptionKeyException.class).hasMessageContaining(other.keyId());
    assertThatThrownBy(() -> StaticKeyProvider.parse("abc".getBytes(), "key file k"))
        .isInstanceOf(EncryptionKeyException.class).hasMessageContaining("key file k");
    assertThat(KeyProviders.generateHex()).hasSize(64).isNotEqualTo(KeyProviders.generateHex());
  }
}
