package io.torus.internal.meta.local;

import io.torus.internal.meta.LockRules;
import io.torus.internal.meta.LeaderElection;
import io.torus.internal.meta.PeerInfo;
import io.torus.internal.meta.PeerRegistry;
import io.torus.internal.meta.PeerStatus;
import io.torus.internal.meta.RebalanceStore;
import io.torus.internal.meta.ReplicationReport;
import io.torus.internal.meta.RingStore;
import io.torus.internal.meta.Subscription;
import io.torus.internal.meta.VersionedRing;
import io.torus.ConcurrentUpdateException;
import io.torus.ErrorCode;
import io.torus.TorusClosedException;
import io.torus.TorusException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Coordination inside one process, shared by every node of it that uses the same
 * {@link LocalMetadataService}: the peer registry (one {@link #newRegistry registry} per node
 * session over one member table), the ring and elections. Member records and the ring are
 * persisted with the service's state; whether a peer is up, election terms and replication
 * reports live in memory. A registered peer is up until its registry is closed (its node
 * stops or its session expires); a leader leads until it resigns.
 *
 * <p>Concurrency: thread-safe; all state is guarded by the service's monitor ({@code lock}),
 * the same one that guards volumes, so one change never interleaves with another. Listener
 * calls run one at a time, in order, on one daemon thread ({@code torus-local-coordination}).
 *
 * <p>Failure: a change to members or the ring is written through {@link Store} before it is
 * visible; if that write throws, nothing changed.
 */
final class LocalCoordination implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(LocalCoordination.class);

  /** Where members and the ring are persisted (the service's state file). */
  interface Store {
    /** Durably stores these members and ring, or throws; called under the lock. */
    void save(NavigableMap<String, PeerInfo> members, VersionedRing ring);
  }

  /** How often at most a peer's usage figures are written to the state file. */
  static final long USAGE_SAVE_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(10);

  private final Object lock;
  private final Store store;
  private final ExecutorService notifier = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "torus-local-coordination");
    t.setDaemon(true);
    return t;
  });
  private NavigableMap<String, PeerInfo> members;
  private final Set<String> alive = new TreeSet<>();
  private VersionedRing current;
  private final List<Runnable> peerListeners = new CopyOnWriteArrayList<>();
  private final Registry defaultRegistry = new Registry();
  private final Ring ring = new Ring();
  private final Rebalance rebalance = new Rebalance();
  private final Map<String, LinkedHashSet<Candidate>> elections = new TreeMap<>();
  private long lastTerm;
  private boolean closed;

  LocalCoordination(Object lock, Store store, NavigableMap<String, PeerInfo> members,
      VersionedRing ring) {
    this.lock = lock;
    this.store = store;
    this.members = new TreeMap<>(members);
    this.current = ring;
  }

  /** The registry of a node that uses the service directly (not through a session). */
  public PeerRegistry peers() {
    checkOpen();
    return defaultRegistry;
  }

  /** A registry for one more node sharing this coordination. */
  PeerRegistry newRegistry() {
    checkOpen();
    return new Registry();
  }

  public RingStore ring() {
    checkOpen();
    return ring;
  }

  public RebalanceStore rebalance() {
    checkOpen();
    return rebalance;
  }

  public LeaderElection election(String name, String candidate) {
    synchronized (lock) {
      checkOpen();
      return new Candidate(LeaderElection.checkName(name), LockRules.checkHolder(candidate));
    }
  }

  private void checkOpen() {
    synchronized (lock) {
      if (closed) {
        throw new TorusClosedException("local coordination is closed");
      }
    }
  }

  private void peersChanged() {
    for (Runnable l : peerListeners) {
      notify(l);
    }
  }

  private void save(NavigableMap<String, PeerInfo> nextMembers, VersionedRing nextRing) {
    store.save(nextMembers, nextRing);
    members = nextMembers;
    current = nextRing;
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
    synchronized (lock) {
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

  /** One node's registration over the shared member table. */
  private final class Registry implements PeerRegistry {
    private PeerInfo self;
    private long lastSave = System.nanoTime();

    @Override
    public void register(PeerInfo info) {
      Objects.requireNonNull(info, "info");
      synchronized (lock) {
        checkOpen();
        TreeMap<String, PeerInfo> next = new TreeMap<>(members);
        next.put(info.nodeId(), info);
        save(next, current);
        if (self != null && !self.nodeId().equals(info.nodeId())) {
          alive.remove(self.nodeId());
        }
        self = info;
        alive.add(info.nodeId());
        peersChanged();
      }
    }

    /**
     * Updates usage; it is persisted at most every {@link #USAGE_SAVE_NANOS} (a refresh comes
     * every few seconds), and with the next registration or close.
     */
    @Override
    public PeerInfo refresh(long capacityBytes, long usedBytes) {
      synchronized (lock) {
        checkOpen();
        if (self == null) {
          throw TorusException.invalid("this node is not registered as a peer; register "
              + "first");
        }
        PeerInfo updated = self.withUsage(capacityBytes, usedBytes);
        TreeMap<String, PeerInfo> next = new TreeMap<>(members);
        next.put(updated.nodeId(), updated);
        long now = System.nanoTime();
        if (now - lastSave > USAGE_SAVE_NANOS) {
          save(next, current);
          lastSave = now;
        } else {
          members = next;
        }
        self = updated;
        return self;
      }
    }

    @Override
    public List<PeerStatus> peers() {
      synchronized (lock) {
        checkOpen();
        List<PeerStatus> out = new ArrayList<>(members.size());
        for (PeerInfo p : members.values()) {
          out.add(new PeerStatus(p, alive.contains(p.nodeId())));
        }
        return out;
      }
    }

    @Override
    public io.torus.Page<PeerStatus> peers(String after, int limit) {
      io.torus.Page.checkLimit(limit);
      if (after != null) {
        PeerInfo.checkNodeId(after);
      }
      synchronized (lock) {
        checkOpen();
        return io.torus.internal.meta.MapPages.page(members, after, limit,
            p -> new PeerStatus(p, alive.contains(p.nodeId())));
      }
    }

    @Override
    public Optional<PeerStatus> peer(String nodeId) {
      PeerInfo.checkNodeId(nodeId);
      synchronized (lock) {
        checkOpen();
        PeerInfo p = members.get(nodeId);
        return p == null ? Optional.empty()
            : Optional.of(new PeerStatus(p, alive.contains(nodeId)));
      }
    }

    @Override
    public boolean remove(String nodeId) {
      PeerInfo.checkNodeId(nodeId);
      synchronized (lock) {
        checkOpen();
        if (alive.contains(nodeId)) {
          throw new TorusException(ErrorCode.EPERM, "peer '" + nodeId + "' is up; stop it"
              + " before removing it");
        }
        if (!members.containsKey(nodeId)) {
          return false;
        }
        TreeMap<String, PeerInfo> next = new TreeMap<>(members);
        next.remove(nodeId);
        save(next, current);
        peersChanged();
        return true;
      }
    }

    @Override
    public Subscription onChange(Runnable changed) {
      Runnable mine = changed::run; // one listener added twice is two subscriptions
      peerListeners.add(mine);
      return () -> peerListeners.remove(mine);
    }

    /** Marks this node down; its member record (with the last usage) stays. */
    @Override
    public void close() {
      synchronized (lock) {
        if (self == null) {
          return;
        }
        alive.remove(self.nodeId());
        peersChanged();
        if (!closed) {
          try {
            save(members, current);
          } catch (RuntimeException e) {
            LOG.warn("could not persist the last usage of peer {}: {}", self.nodeId(),
                e.toString());
          }
        }
        self = null;
      }
    }
  }

  /** The ring shared by the nodes of this process. */
  private final class Ring implements RingStore {
    private final List<RingListener> listeners = new CopyOnWriteArrayList<>();

    @Override
    public Optional<VersionedRing> read() {
      synchronized (lock) {
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
      synchronized (lock) {
        checkOpen();
        long found = current == null ? 0 : current.version();
        if (found != expectedVersion) {
          throw new ConcurrentUpdateException("ring version is " + found + ", not the "
              + "expected " + expectedVersion + "; nothing was stored");
        }
        save(members, next);
        for (RingListener l : listeners) {
          LocalCoordination.this.notify(() -> l.ringChanged(next));
        }
        return next;
      }
    }

    @Override
    public Subscription watch(RingListener listener) {
      Objects.requireNonNull(listener, "listener");
      synchronized (lock) {
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
      synchronized (lock) {
        checkOpen();
        elections.computeIfAbsent(name, n -> new LinkedHashSet<>()).add(this);
        settle(name);
      }
    }

    @Override
    public void resign() {
      synchronized (lock) {
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
      synchronized (lock) {
        return term != 0;
      }
    }

    @Override
    public Optional<Leader> leader() {
      synchronized (lock) {
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
