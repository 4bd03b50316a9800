package io.torus.internal.crypto;

import io.torus.CorruptBlockException;
import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.spi.BlockRef;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.InvalidAlgorithmParameterException;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * AES-256-GCM under one data key, for blocks named by their refs. Thread-safe (a cipher
 * object per thread).
 *
 * <p>Construction (see {@code src-docs/formats.md}): nonce = the ref's generation (8 bytes,
 * big-endian) followed by its sequence (4 bytes); associated data = the ref's 24-byte binary
 * form (volume id, generation, sequence, kind); the 16-byte tag follows the ciphertext. A
 * data key encrypts only blocks of one volume id, and a ref is never reused for other bytes
 * (generations are never handed out twice, sequences are unique within one), so no nonce
 * repeats under a key. A block moved to another ref, of another volume or kind, or altered
 * fails to decrypt.
 */
public final class BlockCipher {
  /** Bytes the tag adds to each sealed piece. */
  public static final int TAG_BYTES = 16;
  private static final String GCM = "AES/GCM/NoPadding";

  private final SecretKeySpec key;
  private final ThreadLocal<Cipher> ciphers = ThreadLocal.withInitial(BlockCipher::newCipher);

  BlockCipher(byte[] key) {
    this.key = new SecretKeySpec(key.clone(), "AES");
  }

  private static Cipher newCipher() {
    try {
      return Cipher.getInstance(GCM);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM missing from the JDK", e);
    }
  }

  /** The 12-byte nonce of {@code ref}. */
  static byte[] nonce(BlockRef ref) {
    return ByteBuffer.allocate(12).putLong(ref.generation()).putInt(ref.sequence()).array();
  }

  /** The 24-byte associated data of {@code ref}. */
  static byte[] refBytes(BlockRef ref) {
    ByteBuffer b = ByteBuffer.allocate(BlockRef.BYTES);
    ref.writeTo(b);
    return b.array();
  }

  /**
   * Encrypts {@code plain}'s remaining bytes (not consumed) into {@code out} (ciphertext then
   * tag: {@code plain.remaining() + TAG_BYTES} bytes at its position), with {@code aad}
   * after the ref as further associated data.
   */
  void seal(BlockRef ref, ByteBuffer plain, byte[] aad, ByteBuffer out) {
    seal(nonce(ref), refBytes(ref), aad, plain, out, "block " + ref);
  }

  /** Seals with an explicit nonce and associated data ({@code aad2} may be null). */
  void seal(byte[] nonce, byte[] aad1, byte[] aad2, ByteBuffer plain, ByteBuffer out,
      String what) {
    Cipher c = init(Cipher.ENCRYPT_MODE, nonce);
    try {
      c.updateAAD(aad1);
      if (aad2 != null) {
        c.updateAAD(aad2);
      }
      if (out.hasArray()) {
        int n = crypt(c, plain, out.array(), out.arrayOffset() + out.position());
        out.position(out.position() + n);
      } else {
        c.doFinal(plain.duplicate(), out);
      }
    } catch (GeneralSecurityException e) {
      throw new TorusException(ErrorCode.EIO, "cannot encrypt " + what + ": " + e, e);
    }
  }

  /**
   * Runs {@code c} over {@code in}'s remaining bytes (not consumed) into {@code out} at
   * {@code off}; returns the bytes written. Works on arrays: the JDK's cipher runs about twice
   * as fast on arrays as on a buffer without one (a read-only view), so such input is copied
   * first.
   */
  private static int crypt(Cipher c, ByteBuffer in, byte[] out, int off)
      throws GeneralSecurityException {
    if (in.hasArray()) {
      return c.doFinal(in.array(), in.arrayOffset() + in.position(), in.remaining(), out, off);
    }
    byte[] copy = new byte[in.remaining()];
    in.duplicate().get(copy);
    return c.doFinal(copy, 0, copy.length, out, off);
  }

  /**
   * Decrypts {@code sealed}'s remaining bytes (ciphertext then tag; not consumed) into a new
   * heap buffer. Throws {@link CorruptBlockException} naming the ref if they fail
   * authentication.
   */
  ByteBuffer open(BlockRef ref, ByteBuffer sealed, byte[] aad) {
    return open(nonce(ref), refBytes(ref), aad, sealed, "block " + ref);
  }

  /** Opens with an explicit nonce and associated data ({@code aad2} may be null). */
  ByteBuffer open(byte[] nonce, byte[] aad1, byte[] aad2, ByteBuffer sealed, String what) {
    if (sealed.remaining() < TAG_BYTES) {
      throw new CorruptBlockException("encrypted " + what + " is " + sealed.remaining()
          + " bytes, shorter than its tag");
    }
    Cipher c = init(Cipher.DECRYPT_MODE, nonce);
    byte[] out = new byte[sealed.remaining() - TAG_BYTES];
    try {
      c.updateAAD(aad1);
      if (aad2 != null) {
        c.updateAAD(aad2);
      }
      crypt(c, sealed, out, 0);
    } catch (AEADBadTagException e) {
      throw new CorruptBlockException("encrypted " + what + " fails authentication (altered,"
          + " stored under another name, or written with another key)", e);
    } catch (GeneralSecurityException e) {
      throw new TorusException(ErrorCode.EIO, "cannot decrypt " + what + ": " + e, e);
    }
    return ByteBuffer.wrap(out);
  }

  /**
   * A cipher under a key derived from this one for {@code purpose} (HMAC-SHA256 of the
   * purpose's name under this key), so that other pieces than blocks never share a key, and
   * so a nonce, with blocks.
   */
  BlockCipher derive(String purpose) {
    try {
      javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key.getEncoded(), "HmacSHA256"));
      byte[] k = mac.doFinal(purpose.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      try {
        return new BlockCipher(k);
      } finally {
        java.util.Arrays.fill(k, (byte) 0);
      }
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HMAC-SHA256 missing from the JDK", e);
    }
  }

  private Cipher init(int mode, byte[] nonce) {
    GCMParameterSpec spec = new GCMParameterSpec(TAG_BYTES * 8, nonce);
    Cipher c = ciphers.get();
    try {
      c.init(mode, key, spec);
      return c;
    } catch (InvalidAlgorithmParameterException e) {
      // the JDK refuses to encrypt twice in a row with one key and nonce on one cipher
      // object: the same ref put again (a retried put of the same bytes gives the same
      // ciphertext, so a fresh object is safe)
      c = newCipher();
      ciphers.set(c);
      try {
        c.init(mode, key, spec);
        return c;
      } catch (GeneralSecurityException again) {
        throw new TorusException(ErrorCode.EIO, "cannot set up AES-GCM: " + again, again);
      }
    } catch (GeneralSecurityException e) {
      throw new TorusException(ErrorCode.EIO, "cannot set up AES-GCM: " + e, e);
    }
  }
}
