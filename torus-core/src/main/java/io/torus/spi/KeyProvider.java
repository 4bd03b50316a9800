package io.torus.spi;

/**
 * A key-encryption key (KEK): wraps and unwraps the random data keys of encrypted volumes.
 * The data keys encrypt blocks; a provider never sees a block. A provider is bound to one KEK,
 * named by {@link #keyId()}, which is stored in the volume record beside the wrapped keys, so a
 * node that holds several providers picks the one a volume needs.
 *
 * <p>Built in: a key in a file or in an environment variable
 * ({@link io.torus.KeyProviders}). A third party adds a key management service by
 * implementing this interface (the wrap and unwrap calls go to the service; the KEK never
 * needs to leave it).
 *
 * <p>Implementations are thread-safe. Failures are {@link io.torus.TorusException}s with
 * code {@link io.torus.ErrorCode#EPERM} (wrong key, refused) or {@link io.torus.ErrorCode#EIO}
 * (service unreachable, retryable).
 */
public interface KeyProvider {

  /**
   * The KEK's id, at most 200 characters of {@code [A-Za-z0-9._:/-]}: stored in volume
   * records, shown by {@code torus volume info}. It must not reveal the key.
   */
  String keyId();

  /** Wraps a 32-byte data key; the result is at most 512 bytes. */
  byte[] wrap(byte[] dataKey);

  /**
   * Unwraps what {@link #wrap} returned: the 32-byte data key. Throws
   * {@link io.torus.EncryptionKeyException} if {@code wrapped} was not wrapped by this KEK or
   * was altered.
   */
  byte[] unwrap(byte[] wrapped);
}
