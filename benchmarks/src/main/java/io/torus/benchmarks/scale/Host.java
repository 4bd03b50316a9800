package io.torus.benchmarks.scale;

import java.util.List;

/**
 * The peers of one JVM of the scale harness, as the driver sees them: in this process
 * ({@link PeerHost}) or in a child JVM ({@link RemoteHost}). Called from one thread.
 */
interface Host extends AutoCloseable {

  /** Starts peers with these ids (in parallel); the milliseconds it took. */
  long start(List<String> ids) throws Exception;

  /**
   * For each peer of this host, the wall-clock microseconds at which it first placed blocks
   * by a ring of at least {@code version}, or -1 if it has not yet.
   */
  List<Long> ringSeen(long version) throws Exception;

  /**
   * After a full GC: peers, heap bytes used above the JVM's baseline, non-heap bytes,
   * threads above the baseline, resident set bytes.
   */
  long[] stats() throws Exception;

  /** Bytes stored, bytes copied by rebalance, blocks scrubbed, summed over the peers. */
  long[] storage() throws Exception;

  /** Bytes stored by the peer with this id, or -1 if it is not here. */
  long used(String id) throws Exception;

  /** Map blocks (copies), their bytes, and data blocks (copies) of a volume in the stores. */
  long[] mapBlocks(long volumeId) throws Exception;

  /** Stops every peer and the shared resources; the milliseconds closing the peers took. */
  long stop() throws Exception;

  @Override
  default void close() throws Exception {
    stop();
  }
}
