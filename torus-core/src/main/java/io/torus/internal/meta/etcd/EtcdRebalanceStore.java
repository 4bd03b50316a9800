package io.torus.internal.meta.etcd;

import static io.torus.internal.meta.etcd.EtcdKv.key;
import static io.torus.internal.meta.etcd.EtcdKv.str;

import io.etcd.jetcd.KeyValue;
import io.torus.internal.meta.RebalanceStore;
import io.torus.internal.meta.ReplicationReport;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Replication reports ({@code rebalance/reports/NODE}) and drain requests
 * ({@code rebalance/drains/NODE}) in etcd, both persistent keys (see {@link EtcdLayout}).
 * Each record is one key written whole, so there is nothing to keep consistent between keys.
 * Thread-safe (stateless over the service's client).
 */
final class EtcdRebalanceStore implements RebalanceStore {
  private final EtcdKv kv;
  private final EtcdLayout layout;

  EtcdRebalanceStore(EtcdKv kv) {
    this.kv = kv;
    this.layout = kv.layout();
  }

  @Override
  public void publish(ReplicationReport report) {
    kv.checkOpen();
    kv.put(layout.reportKey(report.nodeId()), EtcdLayout.encodeReport(report),
        "publishing the report of " + report.nodeId());
  }

  @Override
  public Map<String, ReplicationReport> reports() {
    Map<String, ReplicationReport> out = new TreeMap<>();
    for (KeyValue e : list(layout.reportsPrefix(), "reading replication reports")) {
      ReplicationReport r = EtcdLayout.decodeReport(key(e), str(e));
      if (!layout.reportKey(r.nodeId()).equals(key(e))) {
        throw EtcdLayout.corrupt(key(e), str(e), "does not match its key");
      }
      out.put(r.nodeId(), r);
    }
    return out;
  }

  @Override
  public void requestDrain(String nodeId) {
    kv.checkOpen();
    kv.put(layout.drainKey(nodeId), EtcdLayout.encodeDrain(nodeId, Instant.now()),
        "requesting a drain of " + nodeId);
  }

  @Override
  public boolean cancelDrain(String nodeId) {
    kv.checkOpen();
    return kv.delete(layout.drainKey(nodeId), "cancelling the drain of " + nodeId);
  }

  @Override
  public Set<String> drains() {
    Set<String> out = new TreeSet<>();
    for (KeyValue e : list(layout.drainsPrefix(), "reading drain requests")) {
      String id = EtcdLayout.decodeDrain(key(e), str(e));
      if (!layout.drainKey(id).equals(key(e))) {
        throw EtcdLayout.corrupt(key(e), str(e), "does not match its key");
      }
      out.add(id);
    }
    return out;
  }

  private Iterable<KeyValue> list(String prefix, String what) {
    kv.checkOpen();
    return kv.getPrefix(prefix, what).kvs();
  }
}
