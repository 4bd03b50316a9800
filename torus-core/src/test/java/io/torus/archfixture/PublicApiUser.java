package io.torus.archfixture;

import io.torus.VolumeSpec;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;

/** Keeps every rule: code outside torus-core using only {@code io.torus} and the SPI. */
public final class PublicApiUser {
  private PublicApiUser() {}

  /** A 1 MiB volume spec. */
  public static VolumeSpec spec() {
    return VolumeSpec.builder("v", 1 << 20).build();
  }

  /** The first data block of volume 1. */
  public static BlockRef first() {
    return new BlockRef(1, 1, 0, BlockKind.DATA);
  }
}
