package io.torus.internal.storage;

/**
 * Where a stored block lives in a {@link FileBlockStore}: data file number, first allocation
 * unit in that file, and payload length in bytes. The extent covers {@link #units()} units:
 * the {@link BlockHeader} plus the payload, rounded up to whole units.
 *
 * @param file data file number, {@code 0 <= file < fileCount}
 * @param unit first unit of the extent within the file
 * @param length payload bytes (without header)
 */
record Location(int file, int unit, int length) {

  /** Units a block of {@code length} payload bytes occupies, header included. */
  static int unitsFor(int length) {
    long bytes = (long) BlockHeader.SIZE + length;
    return (int) ((bytes + FileBlockStore.UNIT - 1) / FileBlockStore.UNIT);
  }

  /** Units this extent occupies. */
  int units() {
    return unitsFor(length);
  }

  /** Byte offset of the extent in its data file. */
  long offset() {
    return (long) unit * FileBlockStore.UNIT;
  }
}
