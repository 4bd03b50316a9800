package io.torus.internal.volume;

import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.ErrorCode;
import io.torus.TorusException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Hands out the refs of one pending generation of a volume. Thread-safe.
 *
 * <p>Data blocks of an erasure-coded volume ({@code dataShards > 0}) are handed out in runs
 * ({@link #nextData}) that start on a stripe boundary, so the blocks of one run, put together,
 * fill their stripes, and no later run shares a stripe with it: a stripe is coded once, from
 * the blocks of one write-out or flush.
 */
final class Generation {
  final long volumeId;
  final long number;
  private final int dataShards;
  private final int parityShards;
  private final AtomicInteger sequence = new AtomicInteger();

  /** A generation of a replicated volume. */
  Generation(long volumeId, long number) {
    this(volumeId, number, 0, 0);
  }

  /** @param dataShards k of the volume's stripes, 0 for a replicated volume */
  Generation(long volumeId, long number, int dataShards, int parityShards) {
    this.volumeId = volumeId;
    this.number = number;
    this.dataShards = dataShards;
    this.parityShards = parityShards;
  }

  /** Data blocks per stripe: k of an erasure-coded volume, 1 for a replicated one. */
  int stripeBlocks() {
    return Math.max(1, dataShards);
  }

  /** The same volume's next generation, with the same stripe layout. */
  Generation following() {
    return new Generation(volumeId, number + 1, dataShards, parityShards);
  }

  /** One ref of {@code kind} (a map node, or a data block of a replicated volume). */
  BlockRef next(BlockKind kind) {
    int seq = sequence.getAndIncrement();
    check(seq);
    return new BlockRef(volumeId, number, seq, kind);
  }

  /**
   * Refs for {@code n} data blocks, to be put together: consecutive sequence numbers; for an
   * erasure-coded volume starting on a stripe boundary, with the rest of the last stripe
   * left unused.
   */
  List<BlockRef> nextData(int n) {
    List<BlockRef> out = new ArrayList<>(n);
    if (dataShards == 0) {
      for (int i = 0; i < n; i++) {
        out.add(next(BlockKind.DATA));
      }
      return out;
    }
    int k = dataShards;
    int span = (int) Math.min(Integer.MAX_VALUE, ((long) n + k - 1) / k * k);
    int start;
    while (true) {
      int cur = sequence.get();
      long aligned = ((long) cur + k - 1) / k * k;
      if (aligned + span > Integer.MAX_VALUE || cur < 0) {
        check(-1);
      }
      if (sequence.compareAndSet(cur, (int) (aligned + span))) {
        start = (int) aligned;
        break;
      }
    }
    for (int i = 0; i < n; i++) {
      out.add(new BlockRef(volumeId, number, start + i, BlockKind.DATA, k, parityShards));
    }
    return out;
  }

  private void check(int seq) {
    if (seq < 0) {
      throw new TorusException(ErrorCode.EIO, "generation " + number + " of volume "
          + volumeId + " has used all its block numbers; flush the volume");
    }
  }
}
