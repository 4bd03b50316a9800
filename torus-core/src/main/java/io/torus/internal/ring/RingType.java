package io.torus.internal.ring;

import io.torus.TorusException;

/** The kinds of ring; the id is part of the ring format (see {@link RingCodec}). */
public enum RingType {
  /** Exactly one peer holds everything. */
  SINGLE(1),
  /** Hash modulo the number of peers, rotating the peer list (no weights). */
  MODULO(2),
  /** Reads from the union of two rings, writes to the newer one (while data moves). */
  UNION(3),
  /** Consistent hashing with capacity-weighted virtual nodes (the default). */
  KETAMA(4);

  private final int id;

  RingType(int id) {
    this.id = id;
  }

  /** The stable one-byte id. */
  public int id() {
    return id;
  }

  /** The type with this id; EINVAL for an unknown one. */
  public static RingType ofId(int id) {
    for (RingType t : values()) {
      if (t.id == id) {
        return t;
      }
    }
    throw TorusException.invalid("unknown ring type: " + id);
  }
}
