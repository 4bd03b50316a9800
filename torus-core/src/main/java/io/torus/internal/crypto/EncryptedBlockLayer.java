package io.torus.internal.crypto;

import io.torus.internal.Crc32c;
import io.torus.internal.layer.BlockLayer;
import io.torus.internal.layer.FlushJournal;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * The layer of an encrypted volume: seals every block before it goes down to the stores or
 * peers and opens every block that comes up, so below it there is only ciphertext. A data
 * block is stored as its AES-256-GCM ciphertext followed by the tag ({@link BlockCipher}); a
 * map node in its sealed form ({@link SealedNodes}); a flush-journal entry is sealed too
 * ({@link SealedJournal}). The checksum given to the layer below
 * is that of the stored (sealed) bytes.
 *
 * <p>A block that fails authentication is a {@link io.torus.CorruptBlockException} naming its
 * ref: never returned. (A copy damaged on a peer's disk is already caught below by its
 * checksum, and read from another replica.)
 *
 * <p>Threads: the synchronous operations and {@link #putDurableAsync} (a flush's blocks,
 * often one) seal and open on the caller's thread; {@link #putAsync} and {@link #getAsync}
 * on {@code cipher}, a pool of about one thread per core, so that the blocks of a large read
 * or write-out are encrypted in parallel. For that the layer reports a read parallelism of at
 * least {@link #PARALLEL}, also over local stores.
 */
public final class EncryptedBlockLayer implements BlockLayer {
  /** The least read parallelism: gets that decrypt are worth running side by side. */
  static final int PARALLEL = 4;

  private final BlockLayer next;
  private final Keyring keys;
  private final Executor cipher;

  /**
   * @param cipher runs sealing and opening for the asynchronous operations; its tasks never
   *     wait on one another
   */
  public EncryptedBlockLayer(BlockLayer next, Keyring keys, Executor cipher) {
    this.next = next;
    this.keys = keys;
    this.cipher = cipher;
  }

  private ByteBuffer seal(BlockRef ref, ByteBuffer plain) {
    BlockCipher c = keys.cipher(ref);
    if (ref.kind() == BlockKind.MAP) {
      return SealedNodes.seal(c, ref, plain);
    }
    ByteBuffer out = ByteBuffer.allocate(plain.remaining() + BlockCipher.TAG_BYTES);
    c.seal(ref, plain, null, out);
    return out.flip();
  }

  private ByteBuffer open(BlockRef ref, ByteBuffer sealed) {
    BlockCipher c = keys.cipher(ref);
    return ref.kind() == BlockKind.MAP ? SealedNodes.open(c, ref, sealed)
        : c.open(ref, sealed, null);
  }

  @Override
  public void put(BlockRef ref, ByteBuffer data, int crc32c) {
    ByteBuffer s = seal(ref, data);
    next.put(ref, s, Crc32c.of(s));
  }

  @Override
  public CompletableFuture<Void> putAsync(BlockRef ref, ByteBuffer data, int crc32c) {
    return CompletableFuture.supplyAsync(() -> seal(ref, data), cipher)
        .thenCompose(s -> next.putAsync(ref, s, Crc32c.of(s)));
  }

  @Override
  public CompletableFuture<Void> putDurableAsync(BlockRef ref, ByteBuffer data, int crc32c) {
    ByteBuffer s = seal(ref, data);
    return next.putDurableAsync(ref, s, Crc32c.of(s));
  }

  /**
   * Seals every block on {@code cipher} (in parallel), then puts them all through one call of
   * the layer below, so that an erasure-coded stripe reaches it whole (its parity is coded
   * from the ciphertext).
   */
  @Override
  public List<CompletableFuture<Void>> putAllAsync(List<Write> writes, boolean durable) {
    List<CompletableFuture<ByteBuffer>> sealing = new ArrayList<>(writes.size());
    for (Write w : writes) {
      sealing.add(CompletableFuture.supplyAsync(() -> seal(w.ref(), w.data()), cipher));
    }
    CompletableFuture<List<CompletableFuture<Void>>> below =
        CompletableFuture.allOf(sealing.toArray(CompletableFuture[]::new)).thenApply(v -> {
          List<Write> sealed = new ArrayList<>(writes.size());
          for (int i = 0; i < writes.size(); i++) {
            sealed.add(new Write(writes.get(i).ref(), sealing.get(i).join()));
          }
          return next.putAllAsync(sealed, durable);
        });
    List<CompletableFuture<Void>> out = new ArrayList<>(writes.size());
    for (int i = 0; i < writes.size(); i++) {
      int at = i;
      out.add(below.thenCompose(puts -> puts.get(at)));
    }
    return out;
  }

  @Override
  public ByteBuffer get(BlockRef ref) {
    return open(ref, next.get(ref));
  }

  @Override
  public CompletableFuture<ByteBuffer> getAsync(BlockRef ref) {
    return next.getAsync(ref).thenApplyAsync(b -> open(ref, b), cipher);
  }

  @Override
  public void delete(BlockRef ref) {
    next.delete(ref);
  }

  @Override
  public CompletableFuture<Void> deleteAsync(BlockRef ref) {
    return next.deleteAsync(ref);
  }

  @Override
  public int readParallelism() {
    return Math.max(PARALLEL, next.readParallelism());
  }

  @Override
  public boolean memoryResident() {
    return false; // a get decrypts: worth caching, and not to be run inline on a caller's loop
  }

  @Override
  public void flush() {
    next.flush();
  }

  @Override
  public CompletableFuture<Void> flushAsync() {
    return next.flushAsync();
  }

  @Override
  public Optional<FlushJournal> journal() {
    return next.journal().map(j -> new SealedJournal(j, keys));
  }
}
