package io.torus.examples.csi;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.torus.KeyProviders;
import io.torus.VolumeInfo;
import io.torus.spi.KeyProvider;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Map;

/**
 * The key-encryption key (KEK) of an encrypted volume, taken from a CSI call's secrets: the
 * secret key {@value #SECRET_KEY} holds it in the text {@code torus key generate} writes (64
 * hex digits; 44 base64 characters also do), surrounding white space ignored.
 *
 * <p>The key never reaches a log, an error message, a state file or a command line: {@link
 * #toString} and every message name only its id ({@code static:} and 16 hex digits of a hash),
 * and a child process gets it in its environment ({@link #environment}).
 *
 * <p>Immutable; thread-safe.
 */
final class SecretKek {
  /** The key in a CSI call's secrets (a Kubernetes Secret's data key) that holds the KEK. */
  static final String SECRET_KEY = "torusKey";
  /** The environment variable child processes find the KEK in ({@code --key-env}). */
  static final String ENV = "TORUS_CSI_KEK";

  private final KeyProvider provider;
  private final String hex;

  private SecretKek(byte[] key) {
    this.provider = KeyProviders.ofKey(key);
    this.hex = HexFormat.of().formatHex(key);
  }

  /**
   * The KEK in {@code secrets}, or null if they hold none.
   *
   * @throws StatusRuntimeException INVALID_ARGUMENT if {@value #SECRET_KEY} is not a key
   */
  static SecretKek from(Map<String, String> secrets) {
    String text = secrets.get(SECRET_KEY);
    if (text == null || text.isBlank()) {
      return null;
    }
    byte[] key = decode(text.strip());
    try {
      return new SecretKek(key);
    } finally {
      Arrays.fill(key, (byte) 0);
    }
  }

  /**
   * The KEK in {@code secrets}; {@code purpose} says what needs it, for the message.
   *
   * @throws StatusRuntimeException INVALID_ARGUMENT if there is none or it is not a key
   */
  static SecretKek require(Map<String, String> secrets, String purpose) {
    SecretKek k = from(secrets);
    if (k == null) {
      throw CsiErrors.invalid(purpose + " needs the key-encryption key in secret key '"
          + SECRET_KEY + "' (the StorageClass names the Secret with"
          + " csi.storage.k8s.io/provisioner-secret-name and node-stage-secret-name)");
    }
    return k;
  }

  /**
   * The KEK that opens {@code v}, from {@code secrets}; null if {@code v} is not encrypted.
   *
   * @throws StatusRuntimeException INVALID_ARGUMENT if the secrets hold no key (the message
   *     names the KEK id needed); PERMISSION_DENIED if they hold another key
   */
  static SecretKek forVolume(VolumeInfo v, Map<String, String> secrets, String call) {
    if (!v.encrypted()) {
      return null;
    }
    SecretKek k = from(secrets);
    if (k == null) {
      throw CsiErrors.invalid("volume " + v.name() + " is encrypted with key "
          + v.encryption().kekId() + "; " + call + " needs that key in secret key '"
          + SECRET_KEY + "'");
    }
    k.checkOpens(v);
    return k;
  }

  /** Throws PERMISSION_DENIED naming both ids unless this KEK wrapped {@code v}'s keys. */
  void checkOpens(VolumeInfo v) {
    if (v.encrypted() && !v.encryption().kekId().equals(id())) {
      throw denied("volume " + v.name() + " is encrypted with key " + v.encryption().kekId()
          + ", not with the key in secret key '" + SECRET_KEY + "' (" + id() + ")");
    }
  }

  static StatusRuntimeException denied(String message) {
    return Status.PERMISSION_DENIED.withDescription(message).asRuntimeException();
  }

  /** The KEK's id, as volume records store it. */
  String id() {
    return provider.keyId();
  }

  KeyProvider provider() {
    return provider;
  }

  /** The environment a child given {@code --key-env }{@value #ENV} needs. */
  Map<String, String> environment() {
    return Map.of(ENV, hex);
  }

  /** The id only, never the key. */
  @Override
  public String toString() {
    return id();
  }

  /** The 32 bytes of {@code text}; the message of a failure never quotes it. */
  private static byte[] decode(String text) {
    if (text.length() == 64 && text.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
      return HexFormat.of().parseHex(text);
    }
    if (text.length() == 44 && text.endsWith("=")) {
      try {
        byte[] b = Base64.getDecoder().decode(text);
        if (b.length == 32) {
          return b;
        }
        Arrays.fill(b, (byte) 0);
      } catch (IllegalArgumentException e) {
        // below, without the decoder's message: it quotes a character of the key
      }
    }
    throw CsiErrors.invalid("secret key '" + SECRET_KEY + "' does not hold a 256-bit key (64"
        + " hex digits, as 'torus key generate' writes; " + text.length() + " characters"
        + " given)");
  }
}
