package io.torus.internal.meta;

import io.torus.ConcurrentUpdateException;
import io.torus.ErrorCode;
import io.torus.TorusClosedException;
import io.torus.TorusException;
import io.torus.internal.meta.etcd.EtcdLayout;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Coordination inside one process (the {@link LocalMetadataService}): the peer registry, the
 * ring and elections, kept in memory. There is no session to lose, so a registered peer is up
 * until its registry is closed and a leader leads until it resigns.
 *
 * <p>Concurrency: thread-safe; state is guarded by this object's monitor. Listener calls run
 * one at a time, in order, on one daemon thread ({@code torus-local-coordination}).
 */
final class LocalCoordination implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(LocalCoordination.class);

  private final ExecutorService notifier = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "torus-local-coordination");
    t.setDaemon(true);
    return t;
  });
  private final Peers peers = new Peers();
  private final Ring ring = new Ring();
  private final Rebalance rebalance = new Rebalance();
  private final Map<String, LinkedHashSet<Candidate>> elections = new TreeMap<>();
  private long lastTerm;
  private boolean closed;

  public PeerRegistry peers() {
    checkOpen();
    return peers;
  }

  public RingStore ring() {
    checkOpen();
    return ring;
  }

  public RebalanceStore rebalance() {
    checkOpen();
    return rebalance;
  }

  public synchronized LeaderElection election(String name, String candidate) {
    checkOpen();
    return new Candidate(EtcdLayout.checkElectionName(name),
        LocalMetadataService.checkHolder(candidate));
  }

  private synchronized void checkOpen() {
    if (closed) {
      throw new TorusClosedException("local coordination is closed");
    }
  }

  private void notify(Runnable call) {
    try {
      notifier.execute(() -> {
        try {
          call.run();
        } catch (RuntimeException e) {
          LOG.warn("coordination listener failed", e);
        }
      });
    } catch (RejectedExecutionException e) {
      LOG.debug("closed; listener call dropped");
    }
  }

  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    notifier.shutdown();
    try {
      notifier.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The peers of this process. */
  private final class Peers implements PeerRegistry {
    private final Map<String, PeerStatus> known = new TreeMap<>();
    private PeerInfo self;

    @Override
    public void register(PeerInfo info) {
      Objects.requireNonNull(info, "info");
      synchronized (LocalCoordination.this) {
        checkOpen();
        if (self != null && !self.nodeId().equals(info.nodeId())) {
          known.put(self.nodeId(), new PeerStatus(self, false));
        }
        self = info;
        known.put(info.nodeId(), new PeerStatus(info, true));
      }
    }

    @Override
    public PeerInfo refresh(long capacityBytes, long usedBytes) {
      synchronized (LocalCoordination.this) {
        checkOpen();
        if (self == null) {
          throw TorusException.invalid("this node is not registered as a peer; register "
              + "first");
        }
        register(self.withUsage(capacityBytes, usedBytes));
        return self;
      }
    }

    @Override
    public List<PeerStatus> peers() {
      synchronized (LocalCoordination.this) {
        checkOpen();
        return new ArrayList<>(known.values());
      }
    }

    @Override
    public Optional<PeerStatus> peer(String nodeId) {
      PeerInfo.checkNodeId(nodeId);
      synchronized (LocalCoordination.this) {
        checkOpen();
        return Optional.ofNullable(known.get(nodeId));
      }
    }

    @Override
    public boolean remove(String nodeId) {
      PeerInfo.checkNodeId(nodeId);
      synchronized (LocalCoordination.this) {
        checkOpen();
        PeerStatus p = known.get(nodeId);
        if (p != null && p.up()) {
          throw new TorusException(ErrorCode.EPERM, "peer '" + nodeId + "' is up; stop it"
              + " before removing it");
        }
        return known.remove(nodeId) != null;
      }
    }

    @Override
    public void close() {
      synchronized (LocalCoordination.this) {
        if (self != null) {
          known.put(self.nodeId(), new PeerStatus(self, false));
          self = null;
        }
      }
    }
  }

  /** The ring of this process. */
  private final class Ring implements RingStore {
    private final List<RingListener> listeners = new CopyOnWriteArrayList<>();
    private VersionedRing current;

    @Override
    public Optional<VersionedRing> read() {
      synchronized (LocalCoordination.this) {
        checkOpen();
        return Optional.ofNullable(current);
      }
    }

    @Override
    public VersionedRing update(long expectedVersion, byte[] encoded) {
      if (expectedVersion < 0) {
        throw TorusException.invalid("expected ring version must be >= 0: " + expectedVersion);
      }
      VersionedRing next = new VersionedRing(expectedVersion + 1, encoded);
      synchronized (LocalCoordination.this) {
        checkOpen();
        long found = current == null ? 0 : current.version();
        if (found != expectedVersion) {
          throw new ConcurrentUpdateException("ring version is " + found + ", not the "
              + "expected " + expectedVersion + "; nothing was stored");
        }
        current = next;
        for (RingListener l : listeners) {
          LocalCoordination.this.notify(() -> l.ringChanged(next));
        }
        return next;
      }
    }

    @Override
    public Subscription watch(RingListener listener) {
      Objects.requireNonNull(listener, "listener");
      synchronized (LocalCoordination.this) {
        checkOpen();
        // Wrapped so one listener added twice is two subscriptions.
        RingListener mine = listener::ringChanged;
        listeners.add(mine);
        VersionedRing now = current;
        if (now != null) {
          LocalCoordination.this.notify(() -> mine.ringChanged(now));
        }
        return () -> listeners.remove(mine);
      }
    }
  }

  /** A candidate of an in-process election; candidates lead in the order they campaigned. */
  private final class Candidate implements LeaderElection {
    private final String name;
    private final String id;
    private final List<LeadershipListener> listeners = new CopyOnWriteArrayList<>();
    private long term;

    Candidate(String name, String id) {
      this.name = name;
      this.id = id;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public String candidate() {
      return id;
    }

    @Override
    public void campaign() {
      synchronized (LocalCoordination.this) {
        checkOpen();
        elections.computeIfAbsent(name, n -> new LinkedHashSet<>()).add(this);
        settle(name);
      }
    }

    @Override
    public void resign() {
      synchronized (LocalCoordination.this) {
        LinkedHashSet<Candidate> c = elections.get(name);
        if (c != null && c.remove(this)) {
          if (term != 0) {
            long t = term;
            term = 0;
            tell(l -> l.leadershipLost(t, "resigned"));
          }
          settle(name);
        }
      }
    }

    @Override
    public boolean isLeader() {
      synchronized (LocalCoordination.this) {
        return term != 0;
      }
    }

    @Override
    public Optional<Leader> leader() {
      synchronized (LocalCoordination.this) {
        checkOpen();
        LinkedHashSet<Candidate> c = elections.get(name);
        if (c == null || c.isEmpty()) {
          return Optional.empty();
        }
        Candidate first = c.iterator().next();
        return Optional.of(new Leader(first.id, first.term));
      }
    }

    @Override
    public Subscription addListener(LeadershipListener listener) {
      listeners.add(Objects.requireNonNull(listener, "listener"));
      return () -> listeners.remove(listener);
    }

    void tell(Consumer<LeadershipListener> call) {
      for (LeadershipListener l : listeners) {
        LocalCoordination.this.notify(() -> call.accept(l));
      }
    }

    @Override
    public void close() {
      resign();
    }
  }

  /** Makes the first candidate of {@code election} the leader if it is not yet. */
  private void settle(String election) {
    LinkedHashSet<Candidate> c = elections.get(election);
    if (c == null || c.isEmpty()) {
      elections.remove(election);
      return;
    }
    Candidate first = c.iterator().next();
    if (first.term == 0) {
      long t = ++lastTerm;
      first.term = t;
      first.tell(l -> l.leadershipGained(t));
    }
  }

  /** Reports and drain requests of this process, in memory. */
  private final class Rebalance implements RebalanceStore {
    private final Map<String, ReplicationReport> reports = new TreeMap<>();
    private final java.util.Set<String> drains = new java.util.TreeSet<>();

    @Override
    public void publish(ReplicationReport report) {
      checkOpen();
      synchronized (this) {
        reports.put(report.nodeId(), report);
      }
    }

    @Override
    public synchronized Map<String, ReplicationReport> reports() {
      return new TreeMap<>(reports);
    }

    @Override
    public synchronized void requestDrain(String nodeId) {
      drains.add(PeerInfo.checkNodeId(nodeId));
    }

    @Override
    public synchronized boolean cancelDrain(String nodeId) {
      return drains.remove(nodeId);
    }

    @Override
    public synchronized java.util.Set<String> drains() {
      return new java.util.TreeSet<>(drains);
    }
  }
}
