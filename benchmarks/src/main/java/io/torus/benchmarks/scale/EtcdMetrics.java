package io.torus.benchmarks.scale;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One reading of the Prometheus endpoint ({@code /metrics}) of every member of an etcd
 * cluster, reduced to what the scale harness reports: gRPC requests handled by method (summed
 * over members: each request is handled by the member the client talks to), stream messages
 * received (lease keep-alives, watch requests), watch events sent, and the raft-applied
 * counters and database size (the same on every member: their maximum).
 */
record EtcdMetrics(long nanos, Map<String, Double> handled, Map<String, Double> received,
    double watchEvents, double proposals, double puts, double deletes, double txns,
    double dbBytes, double dbInUseBytes) {

  private static final HttpClient HTTP = HttpClient.newBuilder()
      .connectTimeout(Duration.ofSeconds(2)).build();

  static EtcdMetrics read(List<String> endpoints) throws IOException, InterruptedException {
    Map<String, Double> handled = new TreeMap<>();
    Map<String, Double> received = new TreeMap<>();
    double[] sums = new double[1];
    double[] max = new double[6];
    long nanos = System.nanoTime();
    for (String e : endpoints) {
      HttpRequest req = HttpRequest.newBuilder(URI.create(e + "/metrics"))
          .timeout(Duration.ofSeconds(5)).GET().build();
      String body = HTTP.send(req, HttpResponse.BodyHandlers.ofString()).body();
      double[] member = new double[6];
      for (String line : body.split("\n")) {
        if (line.startsWith("#") || line.isBlank()) {
          continue;
        }
        int space = line.lastIndexOf(' ');
        String name = line.substring(0, space);
        double value = Double.parseDouble(line.substring(space + 1));
        if (name.startsWith("grpc_server_handled_total{")) {
          handled.merge(label(name, "grpc_method"), value, Double::sum);
        } else if (name.startsWith("grpc_server_msg_received_total{")) {
          received.merge(label(name, "grpc_method"), value, Double::sum);
        } else if (name.equals("etcd_debugging_mvcc_events_total")) {
          sums[0] += value;
        } else if (name.equals("etcd_server_proposals_committed_total")) {
          member[0] = value;
        } else if (name.equals("etcd_mvcc_put_total")) {
          member[1] = value;
        } else if (name.equals("etcd_mvcc_delete_total")) {
          member[2] = value;
        } else if (name.equals("etcd_mvcc_txn_total")) {
          member[3] = value;
        } else if (name.equals("etcd_mvcc_db_total_size_in_bytes")) {
          member[4] = value;
        } else if (name.equals("etcd_mvcc_db_total_size_in_use_in_bytes")) {
          member[5] = value;
        }
      }
      for (int i = 0; i < max.length; i++) {
        max[i] = Math.max(max[i], member[i]);
      }
    }
    return new EtcdMetrics(nanos, handled, received, sums[0], max[0], max[1], max[2], max[3],
        max[4], max[5]);
  }

  private static String label(String name, String label) {
    int i = name.indexOf(label + "=\"");
    if (i < 0) {
      return "?";
    }
    int start = i + label.length() + 2;
    return name.substring(start, name.indexOf('"', start));
  }

  /** Per second and per peer between {@code before} and this reading. */
  Rates since(EtcdMetrics before, int peers) {
    double s = (nanos - before.nanos) / 1e9 * peers;
    return new Rates(d(handled, before.handled, "Range") / s,
        d(handled, before.handled, "Txn") / s, d(handled, before.handled, "Put") / s,
        (d(handled, before.handled, "DeleteRange") + d(handled, before.handled, "LeaseGrant")
            + d(handled, before.handled, "LeaseRevoke")) / s,
        d(received, before.received, "LeaseKeepAlive") / s,
        d(received, before.received, "Watch") / s,
        (watchEvents - before.watchEvents) / s, (proposals - before.proposals) / s,
        (puts - before.puts + deletes - before.deletes) / s);
  }

  private static double d(Map<String, Double> now, Map<String, Double> then, String k) {
    return now.getOrDefault(k, 0.0) - then.getOrDefault(k, 0.0);
  }

  /**
   * etcd load per peer per second: requests by gRPC method (Range reads, Txn transactions:
   * registry writes, head commits, ring swaps; Put: replication reports; DeleteRange and lease
   * grants/revokes), stream messages (lease keep-alives, watch create/cancel), watch events
   * delivered, raft proposals committed (every write), and keys written (puts plus deletes).
   */
  record Rates(double range, double txn, double put, double otherWrites, double keepAlives,
      double watchRequests, double watchEvents, double proposals, double keysWritten) {}
}
