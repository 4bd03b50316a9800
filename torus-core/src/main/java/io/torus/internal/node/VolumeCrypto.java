package io.torus.internal.node;

import io.torus.TorusException;
import io.torus.VolumeInfo;
import io.torus.VolumeKeys;
import io.torus.VolumeSpec;
import io.torus.internal.crypto.DataKeys;
import io.torus.internal.crypto.EncryptedBlockLayer;
import io.torus.internal.crypto.Keyring;
import io.torus.internal.layer.BlockLayer;
import io.torus.spi.KeyProvider;
import io.torus.spi.MetadataService;
import java.util.List;

/**
 * The node's part in encryption at rest: which key-encryption keys it holds, the layer of an
 * encrypted volume, the keys of a clone, rekeys. Stateless apart from the providers;
 * thread-safe.
 */
final class VolumeCrypto {
  private final List<KeyProvider> providers;
  private final MetadataService meta;
  private final java.util.concurrent.Executor cipher;

  VolumeCrypto(List<KeyProvider> providers, MetadataService meta,
      java.util.concurrent.Executor cipher) {
    this.providers = List.copyOf(providers);
    this.meta = meta;
    this.cipher = cipher;
  }

  /** Refuses an encrypted spec where the metadata service cannot keep its keys. */
  void checkCreate(VolumeSpec spec) {
    if (spec.encrypted() && !meta.supportsEncryption()) {
      throw new TorusException(io.torus.ErrorCode.ENOTSUP, "this metadata service does not"
          + " store the keys of encrypted volumes");
    }
  }

  /**
   * {@code plain} as the layer of {@code info}: itself for a volume that is not encrypted,
   * else wrapped in an encrypting layer over the unwrapped keys (throws
   * {@link io.torus.EncryptionKeyException} if this node holds no key for them).
   */
  BlockLayer layer(VolumeInfo info, BlockLayer plain) {
    return layer(keys(info), plain);
  }

  /** {@code plain} under {@code keys} ({@link #keys}); itself for null keys. */
  BlockLayer layer(Keyring keys, BlockLayer plain) {
    return keys == null ? plain : new EncryptedBlockLayer(plain, keys, cipher);
  }

  /**
   * The unwrapped keys of {@code info}, null if it is not encrypted; throws
   * {@link io.torus.EncryptionKeyException} if this node holds no key for them (called before
   * anything is locked).
   */
  Keyring keys(VolumeInfo info) {
    return info.encrypted() ? DataKeys.unwrap(info, providers) : null;
  }

  /** The keys of a clone of {@code source}: null if it is not encrypted. */
  VolumeKeys cloneKeys(VolumeInfo source) {
    VolumeKeys keys = source.encryption();
    if (keys == null) {
      return null;
    }
    KeyProvider kek = DataKeys.providerFor(source.name(), keys, providers);
    java.util.Arrays.fill(kek.unwrap(keys.keys().get(0).wrapped()), (byte) 0); // it is the key
    return keys.forClone(source.id(), VolumeKeys.newWrappedKey(kek));
  }

  /** Rewraps the keys of {@code info} with {@code to} and stores them. */
  VolumeInfo rekey(VolumeInfo info, KeyProvider to) {
    VolumeKeys keys = info.encryption();
    if (keys == null) {
      throw TorusException.invalid("volume '" + info.name() + "' is not encrypted");
    }
    KeyProvider from = DataKeys.providerFor(info.name(), keys, providers);
    return meta.setVolumeKeys(info.name(), keys, DataKeys.rewrap(keys, from, to));
  }
}
