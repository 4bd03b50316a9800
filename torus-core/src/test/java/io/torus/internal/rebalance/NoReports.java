package io.torus.internal.rebalance;

import io.torus.internal.meta.RebalanceStore;
import io.torus.internal.meta.ReplicationReport;
import java.util.Map;
import java.util.Set;

/** A rebalance store that keeps nothing: no reports, no drains. */
class NoReports implements RebalanceStore {
  @Override
  public void publish(ReplicationReport report) {}

  @Override
  public Map<String, ReplicationReport> reports() {
    return Map.of();
  }

  @Override
  public void requestDrain(String nodeId) {}

  @Override
  public boolean cancelDrain(String nodeId) {
    return false;
  }

  @Override
  public Set<String> drains() {
    return Set.of();
  }
}
