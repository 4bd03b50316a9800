package io.torus.internal.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.BlockVolume;
import io.torus.CorruptBlockException;
import io.torus.EncryptionKeyException;
import io.torus.KeyProviders;
import io.torus.Torus;
import io.torus.TorusException;
import io.torus.VolumeInfo;
import io.torus.VolumeSpec;
import io.torus.internal.Crc32c;
import io.torus.internal.map.MapNode;
import io.torus.internal.storage.MemoryBlockStore;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.spi.KeyProvider;
import io.torus.spi.MetadataService;
import io.torus.internal.meta.local.LocalMetadataService;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Encrypted volumes on one node: what the stores hold, keys, tampering, clones, rekeys. */
class EncryptedVolumeTest {
  private static final int BS = 16 * 1024;
  private static final byte[] PATTERN =
      "the quick brown fox jumps over the lazy dog, 0123456789".getBytes(StandardCharsets.US_ASCII);

  private final KeyProvider kek = KeyProviders.ofKey(key(1));
  private final MemoryBlockStore store = new MemoryBlockStore("m", 256L << 20);
  private final MetadataService meta = LocalMetadataService.inMemory();
  private final List<Torus> nodes = new ArrayList<>();

  private static byte[] key(int seed) {
    byte[] k = new byte[32];
    Arrays.fill(k, (byte) seed);
    return k;
  }

  /** A node on the shared store and metadata, with {@code keys}. */
  private Torus node(KeyProvider... keys) {
    var b = Torus.builder().metadata(meta).addStore(store).cacheBytes(0).gcInterval(
        java.time.Duration.ZERO);
    for (KeyProvider k : keys) {
      b.keyProvider(k);
    }
    Torus t = b.build();
    nodes.add(t);
    return t;
  }

  @AfterEach
  void close() {
    for (Torus t : nodes) {
      t.close();
    }
  }

  private static byte[] patterned(int len) {
    byte[] b = new byte[len];
    for (int i = 0; i < len; i++) {
      b[i] = PATTERN[i % PATTERN.length];
    }
    return b;
  }

  private List<BlockRef> refs(long volumeId) {
    List<BlockRef> out = new ArrayList<>();
    store.forEach(volumeId, out::add);
    return out;
  }

  private static boolean contains(ByteBuffer hay, byte[] needle) {
    byte[] h = new byte[hay.remaining()];
    hay.duplicate().get(h);
    outer:
    for (int i = 0; i + needle.length <= h.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (h[i + j] != needle[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }

  private VolumeInfo writePattern(Torus t, String name, boolean encrypted) {
    VolumeSpec.Builder spec = VolumeSpec.builder(name, 1 << 20).blockSize(BS).replication(1);
    VolumeInfo info = t.createVolume((encrypted ? spec.encryption(kek) : spec).build());
    try (BlockVolume v = t.openVolume(name)) {
      v.write(0, ByteBuffer.wrap(patterned(8 * BS)));
      v.write(20 * BS + 100, ByteBuffer.wrap(patterned(3000)));
      v.flush();
    }
    return info;
  }

  /** {@code v} holds what {@link #writePattern} wrote. */
  private static void assertHoldsPattern(BlockVolume v) {
    ByteBuffer got = ByteBuffer.allocate(8 * BS);
    v.read(0, got);
    assertThat(got.array()).isEqualTo(patterned(8 * BS));
    ByteBuffer tail = ByteBuffer.allocate(3000);
    v.read(20 * BS + 100, tail);
    assertThat(tail.array()).isEqualTo(patterned(3000));
  }

  @Test
  void storesHoldOnlyCiphertextAndTheVolumeReadsBack() {
    Torus t = node(kek);
    VolumeInfo enc = writePattern(t, "enc", true);
    VolumeInfo plain = writePattern(t, "plain", false);
    byte[] window = Arrays.copyOf(PATTERN, 16);

    List<BlockRef> encRefs = refs(enc.id());
    assertThat(encRefs).extracting(BlockRef::kind).contains(BlockKind.DATA, BlockKind.MAP);
    for (BlockRef r : encRefs) {
      ByteBuffer stored = store.get(r);
      assertThat(contains(stored, window)).as("plaintext in %s", r).isFalse();
      if (r.kind() == BlockKind.DATA) {
        assertThat(stored.remaining()).isEqualTo(BS + BlockCipher.TAG_BYTES);
      } else {
        assertThat(stored.getInt(stored.position())).isEqualTo(MapNode.SEALED_MAGIC);
      }
    }
    // the same check finds the pattern in a volume that is not encrypted
    assertThat(refs(plain.id()).stream().anyMatch(r -> contains(store.get(r), window))).isTrue();

    try (BlockVolume v = t.openVolumeReadOnly("enc")) {
      assertHoldsPattern(v);
    }
    assertThat(t.volume("enc").encryption().kekId()).isEqualTo(kek.keyId());
  }

  @Test
  void withoutTheKeyOrWithAnotherTheOpenFailsAndNothingChanges() {
    writePattern(node(kek), "enc", true);
    long blocks = store.used();
    Torus none = node();
    assertThatThrownBy(() -> none.openVolume("enc"))
        .isInstanceOf(EncryptionKeyException.class)
        .hasMessageContaining("volume 'enc' is encrypted with key " + kek.keyId())
        .hasMessageContaining("--key-file");
    Torus other = node(KeyProviders.ofKey(key(2)));
    assertThatThrownBy(() -> other.openVolumeReadOnly("enc"))
        .isInstanceOf(EncryptionKeyException.class)
        .satisfies(e -> assertThat(((TorusException) e).code())
            .isEqualTo(io.torus.ErrorCode.EPERM));
    assertThat(store.used()).isEqualTo(blocks);
    // the failed opens took no lock: the right key opens it for writing
    try (BlockVolume v = node(kek).openVolume("enc")) {
      assertThat(v.size()).isEqualTo(1 << 20);
    }
  }

  @Test
  void aTamperedOrMisplacedBlockIsCorruptNeverReturned() {
    Torus t = node(kek);
    VolumeInfo enc = writePattern(t, "enc", true);
    List<BlockRef> data = refs(enc.id()).stream().filter(r -> r.kind() == BlockKind.DATA)
        .toList();
    // altered ciphertext under a valid checksum (a peer that lies)
    BlockRef victim = data.get(0);
    ByteBuffer copy = copyOf(store.get(victim));
    copy.put(7, (byte) (copy.get(7) ^ 1));
    store.delete(victim);
    store.put(victim, copy, Crc32c.of(copy));
    try (BlockVolume v = t.openVolumeReadOnly("enc")) {
      assertThatThrownBy(() -> v.read(0, ByteBuffer.allocate(BS)))
          .isInstanceOf(CorruptBlockException.class)
          .hasMessageContaining(victim.toString())
          .hasMessageContaining("fails authentication");
      // a good block of another offset still reads
      ByteBuffer ok = ByteBuffer.allocate(BS);
      v.read(BS, ok);
      assertThat(ok.array()).isEqualTo(Arrays.copyOfRange(patterned(8 * BS), BS, 2 * BS));
    }
    // a good block stored under another block's name
    BlockRef a = data.get(1);
    BlockRef b = data.get(2);
    ByteBuffer bytesOfA = copyOf(store.get(a));
    store.delete(b);
    store.put(b, bytesOfA, Crc32c.of(bytesOfA));
    try (BlockVolume v = t.openVolumeReadOnly("enc")) {
      ByteBuffer all = ByteBuffer.allocate(8 * BS);
      assertThatThrownBy(() -> v.read(0, all)).isInstanceOf(CorruptBlockException.class);
    }
  }

  private static ByteBuffer copyOf(ByteBuffer b) {
    ByteBuffer c = ByteBuffer.allocate(b.remaining());
    c.put(b.duplicate()).flip();
    return c;
  }

  @Test
  void snapshotsAndClonesShareTheOriginsKeysAndClonesWriteWithTheirOwn() {
    Torus t = node(kek);
    VolumeInfo origin = writePattern(t, "enc", true);
    t.createSnapshot("enc", "s1");
    try (BlockVolume v = t.openVolume("enc")) {
      v.write(0, ByteBuffer.wrap(new byte[BS])); // origin moves on: zeroes at 0
      v.flush();
    }
    VolumeInfo clone = t.cloneVolume("enc", "s1", "c");
    assertThat(clone.encryption().keys()).hasSize(2);
    assertThat(clone.encryption().keys().get(1).volumeId()).isEqualTo(origin.id());
    try (BlockVolume c = t.openVolume("c")) {
      ByteBuffer got = ByteBuffer.allocate(BS);
      c.read(0, got);
      assertThat(got.array()).isEqualTo(Arrays.copyOf(patterned(8 * BS), BS));
      c.write(2 * BS, ByteBuffer.wrap(patterned(BS)));
      c.flush();
    }
    assertThat(refs(clone.id())).isNotEmpty() // the clone's own writes, under its id
        .allMatch(r -> !contains(store.get(r), Arrays.copyOf(PATTERN, 16)));
    try (BlockVolume s = t.openSnapshot("enc", "s1")) {
      ByteBuffer got = ByteBuffer.allocate(BS);
      s.read(0, got);
      assertThat(got.array()).isEqualTo(Arrays.copyOf(patterned(8 * BS), BS));
    }
    // cloning needs the key too
    Torus none = node();
    assertThatThrownBy(() -> none.cloneVolume("enc", "s1", "c2"))
        .isInstanceOf(EncryptionKeyException.class);
    assertThat(none.volumes()).extracting(VolumeInfo::name).doesNotContain("c2");
  }

  @Test
  void rekeyReplacesTheKeyEncryptionKeyWithoutTouchingData() {
    Torus t = node(kek);
    VolumeInfo before = writePattern(t, "enc", true);
    t.createSnapshot("enc", "s1");
    long used = store.used();
    List<BlockRef> refsBefore = refs(before.id());
    KeyProvider next = KeyProviders.ofKey(key(3));
    VolumeInfo after = t.rekeyVolume("enc", next);
    assertThat(after.encryption().kekId()).isEqualTo(next.keyId());
    assertThat(store.used()).isEqualTo(used);
    assertThat(refs(before.id())).isEqualTo(refsBefore);

    assertThatThrownBy(() -> node(kek).openVolumeReadOnly("enc"))
        .isInstanceOf(EncryptionKeyException.class).hasMessageContaining(next.keyId());
    Torus withNext = node(next);
    try (BlockVolume v = withNext.openVolumeReadOnly("enc");
        BlockVolume s = withNext.openSnapshot("enc", "s1")) {
      for (BlockVolume x : List.of(v, s)) {
        ByteBuffer got = ByteBuffer.allocate(8 * BS);
        x.read(0, got);
        assertThat(got.array()).isEqualTo(patterned(8 * BS));
      }
    }
    // a rekey needs the current key
    assertThatThrownBy(() -> node(kek).rekeyVolume("enc", kek))
        .isInstanceOf(EncryptionKeyException.class);
    assertThatThrownBy(() -> t.rekeyVolume("plainless", next))
        .isInstanceOf(io.torus.VolumeNotFoundException.class);
  }

  @Test
  void garbageCollectionFollowsSealedMapNodesWithoutTheKey() {
    Torus writer = node(kek);
    writePattern(writer, "enc", true);
    try (BlockVolume v = writer.openVolume("enc")) {
      for (int round = 0; round < 5; round++) { // garbage: overwritten blocks and map nodes
        v.write(0, ByteBuffer.wrap(patterned(4 * BS)));
        v.flush();
      }
    }
    Torus keyless = node();
    var result = keyless.collectGarbage();
    assertThat(result.deletedBlocks()).isPositive();
    try (BlockVolume v = node(kek).openVolumeReadOnly("enc")) {
      assertHoldsPattern(v);
    }
  }
}
