package io.torus.spi;

import io.torus.TorusException;

/** What a stored block holds. The numeric id is part of every on-disk and wire format. */
public enum BlockKind {
  /** Volume data. */
  DATA(0),
  /** A node of a volume's block map. */
  MAP(1),
  /** Erasure-code parity. */
  PARITY(2);

  private final int id;

  BlockKind(int id) {
    this.id = id;
  }

  /** The stable one-byte id of this kind. */
  public int id() {
    return id;
  }

  /** The kind with this id; throws {@link TorusException} (EINVAL) for an unknown one. */
  public static BlockKind ofId(int id) {
    switch (id) {
      case 0: return DATA;
      case 1: return MAP;
      case 2: return PARITY;
      default: throw TorusException.invalid("unknown block kind: " + id);
    }
  }
}
