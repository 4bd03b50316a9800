package io.torus.internal.crypto;

import io.torus.EncryptionKeyException;
import io.torus.VolumeInfo;
import io.torus.VolumeKeys;
import io.torus.spi.KeyProvider;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Makes, wraps and unwraps the data keys of encrypted volumes. */
public final class DataKeys {
  /** Bytes of a data key and of a key-encryption key: AES-256. */
  public static final int KEY_BYTES = 32;

  private DataKeys() {}

  /**
   * The provider among {@code providers} for {@code keys}' KEK; throws
   * {@link EncryptionKeyException} naming the volume and the key it needs if there is none.
   */
  public static KeyProvider providerFor(String volume, VolumeKeys keys,
      Collection<KeyProvider> providers) {
    for (KeyProvider p : providers) {
      if (p.keyId().equals(keys.kekId())) {
        return p;
      }
    }
    throw new EncryptionKeyException("volume '" + volume + "' is encrypted with key "
        + keys.kekId() + (providers.isEmpty() ? "; this node was given no key (--key-file F or"
        + " --key-env VAR)" : "; the keys given are " + providers.stream()
        .map(KeyProvider::keyId).toList()));
  }

  /** The ciphers of the volume {@code info}, unwrapped by one of {@code providers}. */
  public static Keyring unwrap(VolumeInfo info, Collection<KeyProvider> providers) {
    VolumeKeys keys = info.encryption();
    KeyProvider kek = providerFor(info.name(), keys, providers);
    Map<Long, BlockCipher> ciphers = new HashMap<>();
    for (VolumeKeys.Wrapped w : keys.keys()) {
      byte[] key = kek.unwrap(w.wrapped());
      try {
        long id = w.volumeId() == VolumeKeys.SELF ? info.id() : w.volumeId();
        ciphers.put(id, new BlockCipher(key));
      } finally {
        Arrays.fill(key, (byte) 0);
      }
    }
    return new Keyring(info.name(), info.id(), ciphers);
  }

  /** {@code keys} unwrapped by {@code from} and wrapped again by {@code to}. */
  public static VolumeKeys rewrap(VolumeKeys keys, KeyProvider from, KeyProvider to) {
    List<byte[]> out = new java.util.ArrayList<>(keys.keys().size());
    for (VolumeKeys.Wrapped w : keys.keys()) {
      byte[] key = from.unwrap(w.wrapped());
      try {
        out.add(to.wrap(key));
      } finally {
        Arrays.fill(key, (byte) 0);
      }
    }
    return keys.rewrapped(VolumeKeys.checkKekId(to.keyId()), out);
  }
}
