package io.torus.internal.meta;

import static io.torus.internal.meta.EtcdMetadataService.bytes;
import static io.torus.internal.meta.EtcdMetadataService.str;

import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.options.GetOption;
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
  private final EtcdMetadataService meta;
  private final EtcdLayout layout;

  EtcdRebalanceStore(EtcdMetadataService meta) {
    this.meta = meta;
    this.layout = meta.layout();
  }

  @Override
  public void publish(ReplicationReport report) {
    meta.checkOpen();
    meta.await(meta.kv().put(bytes(layout.reportKey(report.nodeId())),
        bytes(EtcdLayout.encodeReport(report))), "publishing the report of " + report.nodeId());
  }

  @Override
  public Map<String, ReplicationReport> reports() {
    Map<String, ReplicationReport> out = new TreeMap<>();
    for (KeyValue kv : list(layout.reportsPrefix(), "reading replication reports")) {
      ReplicationReport r = EtcdLayout.decodeReport(str(kv.getKey()), str(kv));
      if (!layout.reportKey(r.nodeId()).equals(str(kv.getKey()))) {
        throw EtcdLayout.corrupt(str(kv.getKey()), str(kv), "does not match its key");
      }
      out.put(r.nodeId(), r);
    }
    return out;
  }

  @Override
  public void requestDrain(String nodeId) {
    meta.checkOpen();
    meta.await(meta.kv().put(bytes(layout.drainKey(nodeId)),
        bytes(EtcdLayout.encodeDrain(nodeId, Instant.now()))), "requesting a drain of " + nodeId);
  }

  @Override
  public boolean cancelDrain(String nodeId) {
    meta.checkOpen();
    return meta.await(meta.kv().delete(bytes(layout.drainKey(nodeId))),
        "cancelling the drain of " + nodeId).getDeleted() > 0;
  }

  @Override
  public Set<String> drains() {
    Set<String> out = new TreeSet<>();
    for (KeyValue kv : list(layout.drainsPrefix(), "reading drain requests")) {
      String id = EtcdLayout.decodeDrain(str(kv.getKey()), str(kv));
      if (!layout.drainKey(id).equals(str(kv.getKey()))) {
        throw EtcdLayout.corrupt(str(kv.getKey()), str(kv), "does not match its key");
      }
      out.add(id);
    }
    return out;
  }

  private Iterable<KeyValue> list(String prefix, String what) {
    meta.checkOpen();
    GetResponse r = meta.await(meta.kv().get(bytes(prefix),
        GetOption.builder().isPrefix(true).build()), what);
    return r.getKvs();
  }
}
