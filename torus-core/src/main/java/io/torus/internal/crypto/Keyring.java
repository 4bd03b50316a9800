package io.torus.internal.crypto;

import io.torus.CorruptBlockException;
import io.torus.spi.BlockRef;
import java.util.Map;

/** The unwrapped data keys of one open volume, by the volume id found in block refs. */
public final class Keyring {
  private final String volume;
  private final Map<Long, BlockCipher> ciphers;

  Keyring(String volume, Map<Long, BlockCipher> ciphers) {
    this.volume = volume;
    this.ciphers = Map.copyOf(ciphers);
  }

  /** The cipher for {@code ref}'s blocks; a ref of a volume with no key here is corrupt. */
  BlockCipher cipher(BlockRef ref) {
    BlockCipher c = ciphers.get(ref.volumeId());
    if (c == null) {
      throw new CorruptBlockException("block " + ref + " of volume '" + volume
          + "' names a volume id it holds no key for");
    }
    return c;
  }
}
