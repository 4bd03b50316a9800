package io.torus;

import io.torus.internal.crypto.StaticKeyProvider;
import io.torus.spi.KeyProvider;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The built-in {@link KeyProvider}s: a 256-bit key-encryption key held by the node, read from
 * a file or an environment variable. The same key given either way has the same id
 * ({@code static:} and 16 hex digits of a hash of the key), so a volume created with
 * {@code --key-file} opens with {@code --key-env} holding that key.
 *
 * <p>A key is written as 64 hexadecimal digits, or as 44 characters of base64, or (files
 * only) as 32 raw bytes; surrounding white space is ignored. {@code torus key generate}
 * writes a new one. Keep key files readable by the node's user only.
 */
public final class KeyProviders {
  private KeyProviders() {}

  /** The key in {@code file}; throws {@link EncryptionKeyException} if it cannot be read. */
  public static KeyProvider keyFile(Path file) {
    byte[] raw;
    try {
      raw = Files.readAllBytes(file);
    } catch (IOException e) {
      throw new EncryptionKeyException("cannot read key file " + file + ": " + e, e);
    }
    return StaticKeyProvider.parse(raw, "key file " + file);
  }

  /**
   * The key in the environment variable {@code name}; throws {@link EncryptionKeyException}
   * if it is unset or not a key.
   */
  public static KeyProvider environment(String name) {
    String v = System.getenv(name);
    if (v == null) {
      throw new EncryptionKeyException("environment variable " + name + " is not set");
    }
    return StaticKeyProvider.parse(v.getBytes(java.nio.charset.StandardCharsets.US_ASCII),
        "environment variable " + name);
  }

  /** A provider for the 32-byte key {@code key} (copied). */
  public static KeyProvider ofKey(byte[] key) {
    return new StaticKeyProvider(key);
  }

  /** A new random key, as 64 hexadecimal digits (what {@code torus key generate} writes). */
  public static String generateHex() {
    return StaticKeyProvider.generateHex();
  }
}
