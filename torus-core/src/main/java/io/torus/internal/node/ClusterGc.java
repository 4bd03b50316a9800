package io.torus.internal.node;

import io.torus.spi.BlockRef;
import io.torus.GcResult;
import io.torus.internal.Futures;
import io.torus.internal.gc.BlockHolder;
import io.torus.internal.gc.GarbageCollector;
import io.torus.internal.map.BlockMap;
import io.torus.internal.meta.LeaderElection;
import io.torus.internal.meta.PeerStatus;
import io.torus.internal.transport.PeerClient;
import io.torus.spi.MetadataService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.function.Supplier;

/**
 * Garbage collection for a cluster: one elected peer (election {@code "gc"}) sweeps every up
 * peer over the peer protocol (list, delete, flush barrier), reading map nodes from the
 * peers that hold them.
 *
 * <p><b>Safety.</b> The same rules as on one node ({@link GarbageCollector}): the live set is
 * read completely from etcd first, or the cycle deletes nothing. A peer that is down during a
 * cycle keeps its garbage until a later one. Two peers that both believe they lead (for at most
 * a lease TTL) would both delete only garbage.
 */
final class ClusterGc implements AutoCloseable {
  /** Deletes a sweep keeps outstanding per peer. */
  private static final int DELETES_IN_FLIGHT = 64;

  private final ClusterView view;
  private final LeaderElection election;
  private final GarbageCollector gc;
  private final Duration timeout;

  /**
   * @param nodeReader reads a map node from the cluster (any volume's)
   */
  ClusterGc(MetadataService meta, ClusterView view, LeaderElection election,
      BlockMap.NodeReader nodeReader, Supplier<Collection<BlockRef>> openRoots,
      Duration timeout, long deletesPerSecond) {
    this.view = view;
    this.election = election;
    this.timeout = timeout;
    this.gc = new GarbageCollector(meta, this::holders, nodeReader, openRoots,
        deletesPerSecond);
    election.campaign();
  }

  /** Whether this peer currently leads collection. */
  boolean isLeader() {
    return election.isLeader();
  }

  /** One cycle over every up peer (call on the leader; any peer may, safely). */
  GcResult collect() {
    return gc.collect();
  }

  private List<BlockHolder> holders() {
    List<BlockHolder> out = new ArrayList<>();
    for (PeerStatus p : view.peers()) {
      String id = p.info().nodeId();
      PeerClient c = p.up() ? view.client(id) : null;
      if (c != null) {
        out.add(new PeerHolder(id, c));
      }
    }
    return out;
  }

  /** A peer's blocks, reached over the network. */
  private final class PeerHolder implements BlockHolder {
    private final String id;
    private final PeerClient client;

    PeerHolder(String id, PeerClient client) {
      this.id = id;
      this.client = client;
    }

    @Override
    public String name() {
      return "peer " + id;
    }

    @Override
    public List<BlockRef> page(long volumeId, BlockRef after, int max) {
      return Futures.join(client.list(volumeId, after, max, timeout)).refs();
    }

    @Override
    public boolean delete(BlockRef ref) {
      return Futures.join(client.delete(ref, timeout));
    }

    /** Pipelined: up to {@link #DELETES_IN_FLIGHT} deletes outstanding at a time. */
    @Override
    public int deleteAll(List<BlockRef> refs) {
      int n = 0;
      java.util.ArrayDeque<java.util.concurrent.CompletableFuture<Boolean>> sent =
          new java.util.ArrayDeque<>();
      for (BlockRef ref : refs) {
        if (sent.size() >= DELETES_IN_FLIGHT && Futures.join(sent.poll())) {
          n++;
        }
        sent.add(client.delete(ref, timeout));
      }
      while (!sent.isEmpty()) {
        if (Futures.join(sent.poll())) {
          n++;
        }
      }
      return n;
    }

    @Override
    public void flush() {
      Futures.join(client.flush(timeout));
    }
  }

  @Override
  public void close() {
    election.close();
  }
}
