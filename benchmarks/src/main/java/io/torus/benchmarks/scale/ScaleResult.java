package io.torus.benchmarks.scale;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What one cluster size measured (see {@link ScalePoint}); {@link #row} and {@link #columns}
 * print it as one line of the results table.
 *
 * @param joinPropagation and {@code drainPropagation}: ms from the first peer seeing the new
 *     ring to p50, p99 and the last peer; ms from the trigger to the last peer; peers that
 *     never saw it; {@code joinStartMillis}: how long starting the joining peer took
 *     (part of the trigger-to-last time)
 * @param memory summed over the hosts: peers, heap above baseline, non-heap, threads above
 *     baseline, resident set
 * @param volumes for the thin (1 TiB) and the small (1 GiB) volume: open µs (median of 9,
 *     the two volumes' opens interleaved), map
 *     blocks, map bytes, data blocks (one copy each), flush of 64 random blocks µs (median)
 * @param failed what failed (a phase that could not be measured), or "-"
 */
record ScaleResult(int peers, int jvms, long startMillis, long ringFormedMillis,
    EtcdMetrics.Rates steady, double dbBytes, double dbInUseBytes, double[] joinPropagation,
    long joinSettleMillis, long joinStartMillis, long joinMoved, long joinIdeal,
    long joinNewPeerHolds, double[] drainPropagation, long drainSettleMillis, long drainMoved,
    long drainIdeal, long[] memory, int volumeBlocksWritten, long[][] volumes, long gcMillis,
    long stopMillis,
    String failed) {

  static final class Builder {
    final int peers;
    final int jvms;
    long startMillis;
    long ringFormedMillis;
    EtcdMetrics.Rates steady;
    double dbBytes;
    double dbInUseBytes;
    double[] joinPropagation;
    long joinSettleMillis;
    long joinStartMillis;
    long joinMoved;
    long joinIdeal;
    long joinNewPeerHolds;
    double[] drainPropagation;
    long drainSettleMillis;
    long drainMoved;
    long drainIdeal;
    long[] memory;
    int volumeBlocksWritten;
    final long[][] volumes = new long[2][];
    long gcMillis;
    long stopMillis;
    String failed;

    Builder(int peers, int jvms) {
      this.peers = peers;
      this.jvms = jvms;
    }

    void memory(long[] m) {
      this.memory = m;
    }

    void volume(int i, long openMicros, long mapBlocks, long mapBytes, long dataBlocks,
        long flushMicros) {
      volumes[i] = new long[] {openMicros, mapBlocks, mapBytes, dataBlocks, flushMicros};
    }

    ScaleResult build() {
      return new ScaleResult(peers, jvms, startMillis, ringFormedMillis, steady, dbBytes,
          dbInUseBytes, joinPropagation, joinSettleMillis, joinStartMillis, joinMoved,
          joinIdeal, joinNewPeerHolds, drainPropagation, drainSettleMillis, drainMoved, drainIdeal,
          memory, volumeBlocksWritten, volumes, gcMillis, stopMillis,
          failed == null ? "-" : failed.replace('\t', ' ').replace('\n', ' '));
    }
  }

  /** Heap bytes per peer. */
  double heapPerPeer() {
    return (double) memory[1] / peers;
  }

  /** Threads per peer. */
  double threadsPerPeer() {
    return (double) memory[3] / peers;
  }

  /** The column names of {@link #row}, tab-separated. */
  static String columns() {
    return String.join("\t", "peers", "jvms", "start_ms", "ring_formed_ms", "range_s",
        "txn_s", "put_s", "other_writes_s", "keepalive_s", "watch_req_s", "watch_events_s",
        "proposals_s", "keys_written_s", "db_bytes", "db_in_use_bytes", "join_p50_ms",
        "join_p99_ms", "join_max_ms", "join_trigger_to_last_ms", "join_unseen",
        "join_settle_ms", "join_start_ms", "join_moved", "join_ideal", "join_new_peer_holds",
        "drain_p50_ms", "drain_p99_ms", "drain_max_ms", "drain_trigger_to_last_ms", "drain_unseen",
        "drain_settle_ms", "drain_moved", "drain_ideal", "heap_per_peer", "nonheap_total",
        "threads_per_peer", "rss_total", "blocks_written", "thin_open_us", "thin_map_blocks",
        "thin_map_bytes", "thin_data_blocks", "thin_flush_us", "small_open_us",
        "small_map_blocks", "small_map_bytes", "small_data_blocks", "small_flush_us",
        "gc_ms", "stop_ms", "failed");
  }

  /** This result as one tab-separated line (see {@link #columns}). */
  String row() {
    List<String> v = new ArrayList<>();
    add(v, peers, jvms, startMillis, ringFormedMillis);
    EtcdMetrics.Rates s = steady;
    add(v, s.range(), s.txn(), s.put(), s.otherWrites(), s.keepAlives(), s.watchRequests(),
        s.watchEvents(), s.proposals(), s.keysWritten(), dbBytes, dbInUseBytes);
    add(v, (Object[]) box(joinPropagation));
    add(v, joinSettleMillis, joinStartMillis, joinMoved, joinIdeal, joinNewPeerHolds);
    add(v, (Object[]) box(drainPropagation));
    add(v, drainSettleMillis, drainMoved, drainIdeal);
    add(v, heapPerPeer(), memory[2], threadsPerPeer(), memory[4], volumeBlocksWritten);
    for (long[] vol : volumes) {
      for (int i = 0; i < 5; i++) {
        v.add(vol == null ? "-" : Long.toString(vol[i]));
      }
    }
    add(v, gcMillis, stopMillis, failed);
    return String.join("\t", v);
  }

  private static Double[] box(double[] d) {
    Double[] out = new Double[d.length];
    for (int i = 0; i < d.length; i++) {
      out[i] = d[i];
    }
    return out;
  }

  private static void add(List<String> out, Object... values) {
    for (Object o : values) {
      if (o instanceof Double d) {
        out.add(d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString(d.longValue())
            : String.format(Locale.ROOT, "%.3f", d));
      } else {
        out.add(String.valueOf(o));
      }
    }
  }
}
