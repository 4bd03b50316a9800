package io.torus.internal.volume;

import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.ErrorCode;
import io.torus.TorusException;
import java.util.concurrent.atomic.AtomicInteger;

/** Hands out the refs of one pending generation of a volume. Thread-safe. */
final class Generation {
  final long volumeId;
  final long number;
  private final AtomicInteger sequence = new AtomicInteger();

  Generation(long volumeId, long number) {
    this.volumeId = volumeId;
    this.number = number;
  }

  BlockRef next(BlockKind kind) {
    int seq = sequence.getAndIncrement();
    if (seq < 0) {
      throw new TorusException(ErrorCode.EIO, "generation " + number + " of volume "
          + volumeId + " has used all its block numbers; flush the volume");
    }
    return new BlockRef(volumeId, number, seq, kind);
  }
}
