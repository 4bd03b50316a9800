package io.torus.benchmarks.scale;

import java.util.List;
import java.util.Locale;

/** The results as Markdown tables: etcd load, ring changes, costs per peer and of volumes. */
final class ScaleTable {
  private ScaleTable() {}

  static String markdown(List<ScaleResult> results) {
    StringBuilder b = new StringBuilder();
    b.append("| peers | JVMs | Range/s | Txn/s | Put/s | other writes/s | keep-alives/s "
        + "| watch events/s | raft proposals/s | db size |\n");
    b.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (ScaleResult r : results) {
      EtcdMetrics.Rates s = r.steady();
      b.append(f("| %d | %d | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.1f MiB |\n",
          r.peers(), r.jvms(), s.range(), s.txn(), s.put(), s.otherWrites(), s.keepAlives(),
          s.watchEvents(), s.proposals(), r.dbBytes() / (1 << 20)));
    }
    b.append("\n(etcd figures are per peer per second at steady state)\n\n");
    b.append("| peers | join p50 / p99 / max ms | join trigger→last ms | join settle s "
        + "| join moved / ideal | drain p50 / p99 / max ms | drain settle s "
        + "| drain moved / ideal |\n");
    b.append("|---:|---|---:|---:|---:|---|---:|---:|\n");
    for (ScaleResult r : results) {
      double[] j = r.joinPropagation();
      double[] d = r.drainPropagation();
      b.append(f("| %d | %.1f / %.1f / %.1f | %.0f | %.1f | %.2f | %.1f / %.1f / %.1f | %.1f "
          + "| %.2f |\n", r.peers(), j[0], j[1], j[2], j[3], r.joinSettleMillis() / 1e3,
          ratio(r.joinMoved(), r.joinIdeal()), d[0], d[1], d[2], r.drainSettleMillis() / 1e3,
          ratio(r.drainMoved(), r.drainIdeal())));
    }
    b.append("\n| peers | start s | ring formed s | stop s | heap / peer | threads / peer "
        + "| RSS total | 1 TiB open ms | 1 TiB map blocks / KiB | 1 GiB open ms "
        + "| 1 GiB map blocks / KiB | flush 64 blk ms (1 TiB / 1 GiB) | GC sweep s |\n");
    b.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (ScaleResult r : results) {
      long[] t = r.volumes()[0];
      long[] s = r.volumes()[1];
      String vol = t == null ? "- | - | - | - | -" : f("%.1f | %d / %.0f | %.1f | %d / %.0f "
          + "| %.1f / %.1f", t[0] / 1e3, t[1], t[2] / 1024.0, s[0] / 1e3, s[1],
          s[2] / 1024.0, t[4] / 1e3, s[4] / 1e3);
      b.append(f("| %d | %.1f | %.1f | %.1f | %.2f MiB | %.1f | %.0f MiB | %s | %.2f |\n",
          r.peers(), r.startMillis() / 1e3, r.ringFormedMillis() / 1e3, r.stopMillis() / 1e3,
          r.heapPerPeer() / (1 << 20), r.threadsPerPeer(), r.memory()[4] / (double) (1 << 20),
          vol, r.gcMillis() / 1e3));
    }
    for (ScaleResult r : results) {
      if (!r.failed().equals("-")) {
        b.append(f("%n%d peers: not measured: %s%n", r.peers(), r.failed()));
      }
    }
    return b.toString();
  }

  private static double ratio(long a, long b) {
    return b <= 0 ? -1 : (double) a / b;
  }

  private static String f(String format, Object... args) {
    return String.format(Locale.ROOT, format, args);
  }
}
