package io.torus.internal.crypto;

import io.torus.internal.layer.FlushJournal;
import io.torus.spi.BlockRef;
import java.nio.ByteBuffer;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;

/**
 * The flush journal of an encrypted volume: each entry (the map changes of one flush) is
 * sealed before it goes to the journal peers, so they hold only ciphertext.
 *
 * <p>Construction (see {@code src-docs/formats.md}, "Sealed flush-journal entry"): AES-256-GCM
 * under a key derived from the volume's own data key (HMAC-SHA256 of {@link #KEY_PURPOSE});
 * nonce = the entry's generation (8 bytes) followed by {@code ff ff ff ff}; associated data =
 * {@code "TJES"}, the volume id and the generation (20 bytes). A writer appends at most one
 * entry per generation (a retry sends the same bytes) and generations are never reused, so
 * nonces never repeat under the key; an entry replayed under another generation or volume
 * fails to open.
 */
final class SealedJournal implements FlushJournal {
  static final String KEY_PURPOSE = "torus flush journal key v1";
  private static final int AAD_MAGIC = 0x544A4553; // "TJES"

  private final FlushJournal next;
  private final Keyring keys;

  SealedJournal(FlushJournal next, Keyring keys) {
    this.next = next;
    this.keys = keys;
  }

  static byte[] nonce(long generation) {
    return ByteBuffer.allocate(12).putLong(generation).putInt(-1).array();
  }

  static byte[] aad(long volumeId, long generation) {
    return ByteBuffer.allocate(20).putInt(AAD_MAGIC).putLong(volumeId).putLong(generation)
        .array();
  }

  @Override
  public List<String> choose(long volumeId, int copies) {
    return next.choose(volumeId, copies);
  }

  @Override
  public CompletableFuture<Void> append(List<String> peers, long volumeId, long epoch,
      long generation, long checkpoint, byte[] entry) {
    ByteBuffer out = ByteBuffer.allocate(entry.length + BlockCipher.TAG_BYTES);
    keys.journal().seal(nonce(generation), aad(volumeId, generation), null,
        ByteBuffer.wrap(entry), out, "flush journal entry " + generation);
    return next.append(peers, volumeId, epoch, generation, checkpoint, out.array());
  }

  @Override
  public NavigableMap<Long, byte[]> recover(List<String> peers, long volumeId, long epoch,
      long after) {
    NavigableMap<Long, byte[]> sealed = next.recover(peers, volumeId, epoch, after);
    TreeMap<Long, byte[]> out = new TreeMap<>();
    for (Map.Entry<Long, byte[]> e : sealed.entrySet()) {
      long g = e.getKey();
      ByteBuffer plain = keys.journal().open(nonce(g), aad(volumeId, g), null,
          ByteBuffer.wrap(e.getValue()), "flush journal entry " + g + " of volume " + volumeId);
      byte[] b = new byte[plain.remaining()];
      plain.get(b);
      out.put(g, b);
    }
    return out;
  }

  @Override
  public Map<BlockRef, Presence> locate(Collection<BlockRef> refs) {
    return next.locate(refs);
  }
}
