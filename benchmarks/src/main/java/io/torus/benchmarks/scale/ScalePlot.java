package io.torus.benchmarks.scale;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Line plots (SVG, written here, no charting library) of a {@code scale-results.tsv} against
 * the number of peers: etcd load per peer, ring-change propagation, and memory and threads per
 * peer. Run alone to redraw: {@code ScalePlot TSV OUT_DIR}.
 */
final class ScalePlot {
  private ScalePlot() {}

  private static final String[] COLORS = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
      "#9467bd", "#8c564b"};

  public static void main(String[] args) throws IOException {
    write(Path.of(args[0]), Path.of(args[1]));
  }

  static void write(Path tsv, Path dir) throws IOException {
    List<String> lines = Files.readAllLines(tsv, StandardCharsets.UTF_8);
    List<String> head = List.of(lines.get(0).split("\t"));
    List<Map<String, Double>> rows = new ArrayList<>();
    for (String l : lines.subList(1, lines.size())) {
      String[] v = l.split("\t");
      Map<String, Double> m = new LinkedHashMap<>();
      for (int i = 0; i < v.length && i < head.size(); i++) {
        try {
          m.put(head.get(i), Double.parseDouble(v[i]));
        } catch (NumberFormatException e) {
          // "-": not measured
        }
      }
      rows.add(m);
    }
    rows.sort((a, b) -> Double.compare(a.get("peers"), b.get("peers")));
    Files.writeString(dir.resolve("scale-etcd.svg"), svg("etcd load per peer (steady state)",
        "per peer per second", rows, new String[] {"range_s", "txn_s", "put_s",
            "keepalive_s", "proposals_s", "watch_events_s"},
        new String[] {"Range", "Txn", "Put", "lease keep-alives", "raft proposals (writes)",
            "watch events"}, 1), StandardCharsets.UTF_8);
    Files.writeString(dir.resolve("scale-ring.svg"), svg("ring change seen by every peer",
        "ms after the first peer", rows, new String[] {"join_p50_ms", "join_p99_ms",
            "join_max_ms", "drain_p99_ms"},
        new String[] {"join p50", "join p99", "join max", "drain p99"}, 1),
        StandardCharsets.UTF_8);
    Files.writeString(dir.resolve("scale-peer.svg"), svg("cost of one peer", "per peer", rows,
        new String[] {"heap_per_peer", "threads_per_peer"},
        new String[] {"heap (MiB)", "threads"}, 1), StandardCharsets.UTF_8);
  }

  private static String svg(String title, String yLabel, List<Map<String, Double>> rows,
      String[] keys, String[] names, double scale) {
    int w = 640;
    int h = 400;
    int left = 70;
    int right = 180;
    int top = 40;
    int bottom = 50;
    double xMax = rows.stream().mapToDouble(r -> r.get("peers")).max().orElse(1);
    double yMax = 0;
    for (Map<String, Double> r : rows) {
      for (String k : keys) {
        yMax = Math.max(yMax, value(r, k));
      }
    }
    yMax = niceCeil(yMax * scale);
    StringBuilder b = new StringBuilder();
    b.append(f("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
        + "font-family=\"sans-serif\" font-size=\"12\">\n", w, h));
    b.append(f("<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", w, h));
    b.append(f("<text x=\"%d\" y=\"22\" font-size=\"15\">%s</text>\n", left, title));
    int pw = w - left - right;
    int ph = h - top - bottom;
    b.append(f("<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
        + "stroke=\"#888\"/>\n", left, top, pw, ph));
    for (int i = 0; i <= 4; i++) {
      double yv = yMax * i / 4;
      double y = top + ph - ph * i / 4.0;
      b.append(f("<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>\n",
          left, left + pw, y, y));
      b.append(f("<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", left - 6,
          y + 4, label(yv)));
    }
    for (Map<String, Double> r : rows) {
      double x = left + pw * r.get("peers") / xMax;
      b.append(f("<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.0f</text>\n", x,
          top + ph + 18, r.get("peers")));
    }
    b.append(f("<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">peers</text>\n",
        left + pw / 2, h - 10));
    b.append(f("<text x=\"16\" y=\"%d\" transform=\"rotate(-90 16 %d)\" "
        + "text-anchor=\"middle\">%s</text>\n", top + ph / 2, top + ph / 2, yLabel));
    for (int k = 0; k < keys.length; k++) {
      StringBuilder pts = new StringBuilder();
      for (Map<String, Double> r : rows) {
        if (!r.containsKey(keys[k])) {
          continue;
        }
        double x = left + pw * r.get("peers") / xMax;
        double y = top + ph - ph * Math.min(1, value(r, keys[k]) * scale / yMax);
        pts.append(f("%.1f,%.1f ", x, y));
        b.append(f("<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", x, y,
            COLORS[k % COLORS.length]));
      }
      b.append(f("<polyline points=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"/>\n",
          pts.toString().trim(), COLORS[k % COLORS.length]));
      int ly = top + 10 + k * 18;
      b.append(f("<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"%s\" "
          + "stroke-width=\"2\"/>\n", left + pw + 10, left + pw + 30, ly, ly,
          COLORS[k % COLORS.length]));
      b.append(f("<text x=\"%d\" y=\"%d\">%s</text>\n", left + pw + 35, ly + 4, names[k]));
    }
    b.append("</svg>\n");
    return b.toString();
  }

  private static double value(Map<String, Double> r, String key) {
    double v = r.getOrDefault(key, 0.0);
    return key.equals("heap_per_peer") ? v / (1 << 20) : Math.max(0, v);
  }

  private static double niceCeil(double v) {
    if (v <= 0) {
      return 1;
    }
    double p = Math.pow(10, Math.floor(Math.log10(v)));
    for (double m : new double[] {1, 2, 2.5, 5, 10}) {
      if (m * p >= v) {
        return m * p;
      }
    }
    return 10 * p;
  }

  private static String label(double v) {
    return v == Math.rint(v) ? f("%.0f", v) : f("%.2f", v);
  }

  private static String f(String format, Object... args) {
    return String.format(Locale.ROOT, format, args);
  }
}
