package io.torus.internal.meta;

import io.torus.TorusException;
import io.torus.VolumeInfo;
import io.torus.VolumeKeys;

/** The checks every metadata service makes on the keys of encrypted volumes. */
public final class KeyRules {
  private KeyRules() {}

  /**
   * {@code keys} if they are fit for a clone of {@code source}: null for a source that is not
   * encrypted; for an encrypted one, its keys (under its volume id) and one new key of the
   * clone's own, all wrapped by the source's key-encryption key. Else EINVAL.
   */
  public static VolumeKeys cloneKeys(VolumeInfo source, VolumeKeys keys) {
    VolumeKeys src = source.encryption();
    if (src == null || keys == null) {
      if (src != keys) {
        throw TorusException.invalid(src == null
            ? "volume '" + source.name() + "' is not encrypted: its clones are not either"
            : "volume '" + source.name() + "' is encrypted: a clone needs its keys"
                + " (clone it on a node given key " + src.kekId() + ")");
      }
      return null;
    }
    VolumeKeys expected = src.forClone(source.id(), keys.keys().get(0).wrapped());
    if (!expected.equals(keys)) {
      throw TorusException.invalid("the keys given for a clone of '" + source.name()
          + "' are not that volume's keys (it was rekeyed meanwhile?); try again");
    }
    return keys;
  }

  /**
   * Throws EINVAL unless {@code replacement} holds the same keys as {@code v}'s, and
   * {@link io.torus.ConcurrentUpdateException} unless {@code v}'s keys are {@code expected}.
   */
  public static void checkRekey(VolumeInfo v, VolumeKeys expected, VolumeKeys replacement) {
    VolumeKeys current = v.encryption();
    if (current == null) {
      throw TorusException.invalid("volume '" + v.name() + "' is not encrypted");
    }
    if (!current.equals(expected)) {
      throw new io.torus.ConcurrentUpdateException("the keys of volume '" + v.name()
          + "' changed since they were read (another rekey?); read them again");
    }
    if (replacement == null || replacement.keys().size() != current.keys().size()) {
      throw TorusException.invalid("a rekey of volume '" + v.name() + "' must keep its "
          + current.keys().size() + " keys");
    }
    for (int i = 0; i < current.keys().size(); i++) {
      if (current.keys().get(i).volumeId() != replacement.keys().get(i).volumeId()) {
        throw TorusException.invalid("a rekey of volume '" + v.name() + "' must keep its"
            + " keys in order");
      }
    }
  }
}
