package io.torus;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The wrapped data keys of an encrypted volume, as its record stores them. Each key is a
 * random 256-bit AES key, wrapped by the key-encryption key {@link #kekId()}
 * ({@link io.torus.spi.KeyProvider}); the plain keys exist only in the memory of a node that
 * has the volume open. Immutable.
 *
 * <p>One key per volume id whose blocks the volume reads: key {@link #SELF} encrypts the
 * volume's own writes; a clone also holds its origin's keys under the origin's volume id (the
 * blocks it shares with the origin were written, and stay encrypted, under those), and the
 * origin's origins' likewise. A block is decrypted with the key of the volume id in its ref.
 *
 * @param cipher the block cipher, {@link #AES_256_GCM}
 * @param kekId the id of the key-encryption key that wrapped every key here
 * @param keys the wrapped keys, {@link #SELF} first; at most {@link #MAX_KEYS}
 */
public record VolumeKeys(String cipher, String kekId, List<Wrapped> keys) {

  /** The only cipher: AES-256 in Galois/Counter Mode (see {@code src-docs/formats.md}). */
  public static final String AES_256_GCM = "aes-256-gcm";
  /** The volume id under which a volume's own key is recorded. */
  public static final long SELF = 0;
  /** The most keys a volume holds (a clone of a clone of ... 63 deep). */
  public static final int MAX_KEYS = 64;

  private static final Pattern KEK_ID = Pattern.compile("[A-Za-z0-9._:/-]{1,200}");

  public VolumeKeys {
    if (!AES_256_GCM.equals(cipher)) {
      throw TorusException.invalid("unknown cipher: " + cipher);
    }
    checkKekId(kekId);
    keys = List.copyOf(keys);
    if (keys.isEmpty() || keys.size() > MAX_KEYS || keys.get(0).volumeId() != SELF) {
      throw TorusException.invalid("a volume holds 1 to " + MAX_KEYS
          + " keys, its own (volume id 0) first: " + keys);
    }
    for (int i = 1; i < keys.size(); i++) {
      long id = keys.get(i).volumeId();
      for (int j = 0; j < i; j++) {
        if (keys.get(j).volumeId() == id) {
          throw TorusException.invalid("two keys for volume id " + id);
        }
      }
    }
  }

  private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();

  /** A new random 256-bit data key, wrapped by {@code kek}; the plain key is not kept. */
  public static byte[] newWrappedKey(io.torus.spi.KeyProvider kek) {
    byte[] key = new byte[32];
    RANDOM.nextBytes(key);
    try {
      return kek.wrap(key);
    } finally {
      Arrays.fill(key, (byte) 0);
    }
  }

  /** Keys for a new volume: a new data key wrapped by {@code kek}. */
  public static VolumeKeys forNewVolume(io.torus.spi.KeyProvider kek) {
    return of(checkKekId(kek.keyId()), newWrappedKey(kek));
  }

  /** Keys with only the volume's own, wrapped by {@code kekId}. */
  public static VolumeKeys of(String kekId, byte[] wrappedOwnKey) {
    return new VolumeKeys(AES_256_GCM, kekId, List.of(new Wrapped(SELF, wrappedOwnKey)));
  }

  /** Throws {@link TorusException} (EINVAL) unless {@code kekId} is a valid KEK id. */
  public static String checkKekId(String kekId) {
    if (kekId == null || !KEK_ID.matcher(kekId).matches()) {
      throw TorusException.invalid("bad key-encryption key id (1-200 of [A-Za-z0-9._:/-]): "
          + kekId);
    }
    return kekId;
  }

  /**
   * The keys a clone of the volume {@code volumeId} (whose keys these are) inherits, with
   * {@code ownWrapped} (wrapped by the same KEK) as the clone's own key.
   */
  public VolumeKeys forClone(long volumeId, byte[] ownWrapped) {
    List<Wrapped> out = new ArrayList<>(keys.size() + 1);
    out.add(new Wrapped(SELF, ownWrapped));
    for (Wrapped w : keys) {
      out.add(w.volumeId() == SELF ? new Wrapped(volumeId, w.wrapped()) : w);
    }
    return new VolumeKeys(cipher, kekId, out);
  }

  /** These keys wrapped again by {@code newKekId}: {@code rewrapped} in the order of {@link #keys}. */
  public VolumeKeys rewrapped(String newKekId, List<byte[]> rewrapped) {
    if (rewrapped.size() != keys.size()) {
      throw TorusException.invalid("rewrapped " + rewrapped.size() + " keys of " + keys.size());
    }
    List<Wrapped> out = new ArrayList<>(keys.size());
    for (int i = 0; i < keys.size(); i++) {
      out.add(new Wrapped(keys.get(i).volumeId(), rewrapped.get(i)));
    }
    return new VolumeKeys(cipher, newKekId, out);
  }

  /**
   * One wrapped data key.
   *
   * @param volumeId the volume whose blocks it decrypts ({@link #SELF}: the holder's own)
   * @param wrapped the key as the KEK wrapped it, 1 to 512 bytes
   */
  public record Wrapped(long volumeId, byte[] wrapped) {
    public Wrapped {
      if (volumeId < 0) {
        throw TorusException.invalid("volume id < 0: " + volumeId);
      }
      Objects.requireNonNull(wrapped, "wrapped");
      if (wrapped.length == 0 || wrapped.length > 512) {
        throw TorusException.invalid("wrapped key of " + wrapped.length + " bytes");
      }
      wrapped = wrapped.clone();
    }

    @Override
    public byte[] wrapped() {
      return wrapped.clone();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Wrapped w && w.volumeId == volumeId
          && Arrays.equals(w.wrapped, wrapped);
    }

    @Override
    public int hashCode() {
      return Long.hashCode(volumeId) * 31 + Arrays.hashCode(wrapped);
    }

    @Override
    public String toString() {
      return volumeId + ":" + HexFormat.of().formatHex(wrapped);
    }
  }
}
