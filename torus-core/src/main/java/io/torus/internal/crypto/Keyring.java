package io.torus.internal.crypto;

import io.torus.CorruptBlockException;
import io.torus.spi.BlockRef;
import java.util.Map;

/** The unwrapped data keys of one open volume, by the volume id found in block refs. */
public final class Keyring {
  private final String volume;
  private final Map<Long, BlockCipher> ciphers;
  private final BlockCipher journal;

  Keyring(String volume, long ownId, Map<Long, BlockCipher> ciphers) {
    this.volume = volume;
    this.ciphers = Map.copyOf(ciphers);
    this.journal = ciphers.get(ownId).derive(SealedJournal.KEY_PURPOSE);
  }

  /** The cipher of the volume's flush-journal entries (a key derived from its own). */
  BlockCipher journal() {
    return journal;
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
