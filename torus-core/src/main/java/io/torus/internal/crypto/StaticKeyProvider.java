package io.torus.internal.crypto;

import io.torus.EncryptionKeyException;
import io.torus.TorusException;
import io.torus.spi.KeyProvider;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import javax.crypto.Cipher;
import javax.crypto.spec.SecretKeySpec;

/**
 * A key-encryption key held in memory: wraps data keys with AES key wrap (RFC 3394, the JDK's
 * {@code AES/KW/NoPadding}: deterministic, with an integrity check, so a wrong key or an altered
 * wrapped key fails to unwrap). Id: {@code static:} and the first 16 hex digits of SHA-256 of
 * {@code "torus kek id v1\0"} followed by the key.
 */
public final class StaticKeyProvider implements KeyProvider {
  private static final String WRAP = "AES/KW/NoPadding";
  private static final SecureRandom RANDOM = new SecureRandom();

  private final SecretKeySpec kek;
  private final String id;

  public StaticKeyProvider(byte[] key) {
    if (key.length != DataKeys.KEY_BYTES) {
      throw new EncryptionKeyException("a key-encryption key is 32 bytes, not " + key.length);
    }
    this.kek = new SecretKeySpec(key.clone(), "AES");
    this.id = "static:" + fingerprint(key);
  }

  /** The key written as 64 hex digits, 44 base64 characters or 32 raw bytes. */
  public static StaticKeyProvider parse(byte[] raw, String where) {
    String text = new String(raw, StandardCharsets.ISO_8859_1).strip();
    try {
      if (text.length() == 64 && text.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
        return new StaticKeyProvider(HexFormat.of().parseHex(text));
      }
      if (text.length() == 44 && text.endsWith("=")) {
        return new StaticKeyProvider(Base64.getDecoder().decode(text));
      }
    } catch (IllegalArgumentException e) {
      throw new EncryptionKeyException(where + " is not a key: " + e.getMessage(), e);
    }
    if (raw.length == DataKeys.KEY_BYTES) {
      return new StaticKeyProvider(raw);
    }
    throw new EncryptionKeyException(where + " is not a 256-bit key (64 hex digits, 44 base64"
        + " characters or 32 bytes; `torus key generate` writes one)");
  }

  /** 64 hex digits of a new random key. */
  public static String generateHex() {
    byte[] k = new byte[DataKeys.KEY_BYTES];
    RANDOM.nextBytes(k);
    String hex = HexFormat.of().formatHex(k);
    Arrays.fill(k, (byte) 0);
    return hex;
  }

  static String fingerprint(byte[] key) {
    try {
      MessageDigest d = MessageDigest.getInstance("SHA-256");
      d.update("torus kek id v1\0".getBytes(StandardCharsets.US_ASCII));
      d.update(key);
      return HexFormat.of().formatHex(d.digest(), 0, 8);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("SHA-256 missing from the JDK", e);
    }
  }

  @Override
  public String keyId() {
    return id;
  }

  @Override
  public byte[] wrap(byte[] dataKey) {
    try {
      Cipher c = Cipher.getInstance(WRAP);
      c.init(Cipher.WRAP_MODE, kek);
      return c.wrap(new SecretKeySpec(dataKey, "AES"));
    } catch (GeneralSecurityException e) {
      throw new TorusException(io.torus.ErrorCode.EIO, "cannot wrap a data key with " + id
          + ": " + e, e);
    }
  }

  @Override
  public byte[] unwrap(byte[] wrapped) {
    try {
      Cipher c = Cipher.getInstance(WRAP);
      c.init(Cipher.UNWRAP_MODE, kek);
      byte[] key = c.unwrap(wrapped, "AES", Cipher.SECRET_KEY).getEncoded();
      if (key.length != DataKeys.KEY_BYTES) {
        throw new EncryptionKeyException("key " + id + " unwrapped a " + key.length
            + "-byte key, not 32");
      }
      return key;
    } catch (GeneralSecurityException e) {
      throw new EncryptionKeyException("key " + id + " does not unwrap this data key (a"
          + " different key wrapped it, or the volume record was altered)", e);
    }
  }

  @Override
  public String toString() {
    return id;
  }
}
