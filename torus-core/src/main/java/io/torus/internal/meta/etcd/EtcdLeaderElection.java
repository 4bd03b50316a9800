package io.torus.internal.meta.etcd;

import static io.torus.internal.meta.etcd.EtcdKv.absent;
import static io.torus.internal.meta.etcd.EtcdKv.deleteOp;
import static io.torus.internal.meta.etcd.EtcdKv.key;
import static io.torus.internal.meta.etcd.EtcdKv.present;
import static io.torus.internal.meta.etcd.EtcdKv.putUnder;
import static io.torus.internal.meta.etcd.EtcdKv.str;

import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.watch.WatchEvent;
import io.torus.TorusClosedException;
import io.torus.TorusException;
import io.torus.internal.meta.LeaderElection;
import io.torus.internal.meta.LockRules;
import io.torus.internal.meta.Subscription;
import io.torus.spi.MetadataService.SessionListener;
import java.util.HashMap;
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
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A leader election in etcd, in the manner of etcd's own election recipe: every candidate
 * puts a key {@code elections/NAME/LEASE} under its lease; the candidate whose key has the
 * smallest create revision leads, and that create revision is its term.
 *
 * <p>Invariants: terms only grow (etcd revisions only grow). A candidate considers itself
 * leader only while its key is the oldest one of the election and its lease is live; a lost
 * session ends leadership at once, without waiting for etcd.
 *
 * <p>Concurrency: thread-safe. The state is guarded by this object's monitor; the decision
 * is re-evaluated on the election's {@link EtcdWatcher} thread after every change under the
 * election's prefix, from a copy of the candidates kept by the watch's events (a fresh read
 * only on the watch's resyncs and after this candidate joins); listener calls run one at a
 * time, in order, on the election's own notifier thread.
 *
 * <p>Failure: when the session is lost the candidate loses leadership at once and, if still
 * campaigning, joins again with the next lease. When the watch cannot reach etcd the
 * candidate keeps its state until its session is declared lost (at most one TTL later).
 */
final class EtcdLeaderElection implements LeaderElection {
  private static final Logger LOG = LoggerFactory.getLogger(EtcdLeaderElection.class);

  private final EtcdKv kv;
  private final EtcdSession session;
  private final String name;
  private final String candidate;
  private final String prefix;
  private final List<LeadershipListener> listeners = new CopyOnWriteArrayList<>();
  private final ExecutorService notifier;
  private final SessionListener onLost = cause -> lost("session lost: " + cause);
  private final LongConsumer onGrant = lease -> rejoin();
  private EtcdWatcher watcher;
  private boolean campaigning;
  private boolean closed;
  /** The lease our key was put under, or 0 if we have no key. */
  private long myLease;
  /** The term we lead in, or 0. */
  private long term;
  /** The revision our key was put at (by this candidate's last join). */
  private long myPutRevision;
  // The watched copy of the candidates, confined to the watcher's thread: each key's create
  // revision, the keys by create revision, and the revision the copy is at. An event changes
  // the copy only, so N candidates joining cost each watcher N events, not N reads.
  private final Map<String, Long> byKey = new HashMap<>();
  private final TreeMap<Long, String> byCreation = new TreeMap<>();
  private long copyRevision;

  EtcdLeaderElection(EtcdKv kv, EtcdSession session, String name, String candidate) {
    this.kv = kv;
    this.session = session;
    this.name = LeaderElection.checkName(name);
    this.candidate = LockRules.checkHolder(candidate);
    this.prefix = kv.layout().electionPrefix(name);
    this.notifier = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "torus-election-" + name);
      t.setDaemon(true);
      return t;
    });
    session.addListener(onLost);
    session.addGrantListener(onGrant);
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public String candidate() {
    return candidate;
  }

  @Override
  public void campaign() {
    synchronized (this) {
      checkOpen();
      if (campaigning) {
        return;
      }
      campaigning = true;
      if (watcher == null) {
        watcher = new EtcdWatcher(kv, prefix, true, new Evaluator(), "election-" + name);
      }
    }
    try {
      join();
    } catch (TorusException e) {
      // The watcher's first read, or the next lease grant, joins again.
      LOG.warn("election {}: could not campaign yet, will retry", name, e);
    }
  }

  /** Puts our key under the current lease (if we have none); then re-evaluates. */
  private void join() {
    long lease;
    synchronized (this) {
      if (!campaigning || closed) {
        return;
      }
      lease = session.leaseId();
      if (myLease == lease) {
        return;
      }
    }
    String key = kv.layout().candidateKey(name, lease);
    long revision = kv.await(kv.txn().If(absent(key))
        .Then(putUnder(key, EtcdLayout.encodeCandidate(candidate), lease)).commit(),
        "campaigning in election " + name).getHeader().getRevision();
    synchronized (this) {
      if (campaigning && !closed && session.isLive(lease)) {
        myLease = lease;
        myPutRevision = revision;
      }
    }
    EtcdWatcher w = watcher;
    if (w != null) {
      w.run(this::evaluateQuietly);
    }
  }

  private void rejoin() {
    try {
      join();
    } catch (TorusException e) {
      LOG.warn("election {}: could not campaign again under the new lease yet", name, e);
      EtcdWatcher w = watcher;
      if (w != null) {
        w.run(this::evaluateQuietly);
      }
    }
  }

  private void evaluateQuietly() {
    try {
      resync();
    } catch (TorusException e) {
      LOG.debug("election {}: could not read the candidates", name, e);
    }
  }

  /** Reads the candidates afresh into the copy and decides; returns the read's revision. */
  private long resync() {
    GetResponse r = readCandidates();
    byKey.clear();
    byCreation.clear();
    for (KeyValue e : r.getKvs()) {
      byKey.put(key(e), e.getCreateRevision());
      byCreation.put(e.getCreateRevision(), key(e));
    }
    copyRevision = r.getHeader().getRevision();
    decide();
    return copyRevision;
  }

  /** Brings the copy up to date with the watch's events and decides, reading nothing. */
  private void apply(List<WatchEvent> events) {
    for (WatchEvent ev : events) {
      KeyValue e = ev.getKeyValue();
      String k = key(e);
      if (ev.getEventType() == WatchEvent.EventType.PUT) {
        if (byKey.putIfAbsent(k, e.getCreateRevision()) == null) {
          byCreation.put(e.getCreateRevision(), k);
        }
      } else if (ev.getEventType() == WatchEvent.EventType.DELETE) {
        Long created = byKey.remove(k);
        if (created != null) {
          byCreation.remove(created);
        }
      }
      copyRevision = Math.max(copyRevision, e.getModRevision());
    }
    decide();
  }

  /**
   * Decides from the copy of the candidates whether we lead. Our key counts as present while
   * the copy has not yet reached the revision it was put at. Runs on the watcher thread.
   */
  private void decide() {
    Map.Entry<Long, String> oldest = byCreation.firstEntry();
    boolean needJoin;
    synchronized (this) {
      if (closed) {
        return;
      }
      String mine = myLease == 0 ? null : kv.layout().candidateKey(name, myLease);
      boolean present = mine != null
          && (byKey.containsKey(mine) || myPutRevision > copyRevision);
      if (mine != null && !present) {
        myLease = 0; // our key is gone (lease ended or deleted): join again if campaigning
      }
      needJoin = campaigning && myLease == 0;
      boolean leads = oldest != null && mine != null && present
          && oldest.getValue().equals(mine) && session.isLive(myLease);
      if (leads && term == 0) {
        term = oldest.getKey();
        long t = term;
        tell(l -> l.leadershipGained(t));
        LOG.info("election {}: {} leads in term {}", name, candidate, t);
      } else if (!leads && term != 0) {
        long t = term;
        term = 0;
        tell(l -> l.leadershipLost(t, "another candidate leads or our key is gone"));
      }
    }
    if (needJoin) {
      try {
        join();
      } catch (TorusException e) {
        LOG.debug("election {}: could not campaign yet", name, e);
      }
    }
  }

  private GetResponse readCandidates() {
    return kv.getPrefixByCreation(prefix, "reading election " + name);
  }

  /** Leadership ends at once (session lost). */
  private void lost(String reason) {
    synchronized (this) {
      myLease = 0;
      if (term != 0) {
        long t = term;
        term = 0;
        tell(l -> l.leadershipLost(t, reason));
      }
    }
  }

  @Override
  public void resign() {
    long lease;
    synchronized (this) {
      if (closed && myLease == 0) {
        return;
      }
      campaigning = false;
      lease = myLease;
      myLease = 0;
      if (term != 0) {
        long t = term;
        term = 0;
        tell(l -> l.leadershipLost(t, "resigned"));
      }
    }
    if (lease != 0) {
      String key = kv.layout().candidateKey(name, lease);
      kv.await(kv.txn().If(present(key)).Then(deleteOp(key)).commit(),
          "resigning from election " + name);
    }
  }

  @Override
  public synchronized boolean isLeader() {
    return term != 0 && session.isLive(myLease);
  }

  @Override
  public Optional<Leader> leader() {
    kv.checkOpen();
    GetResponse r = readCandidates();
    if (r.getKvs().isEmpty()) {
      return Optional.empty();
    }
    KeyValue e = r.getKvs().get(0);
    return Optional.of(new Leader(EtcdLayout.decodeCandidate(key(e), str(e)),
        e.getCreateRevision()));
  }

  @Override
  public Subscription addListener(LeadershipListener listener) {
    listeners.add(Objects.requireNonNull(listener, "listener"));
    return () -> listeners.remove(listener);
  }

  private void tell(java.util.function.Consumer<LeadershipListener> call) {
    try {
      notifier.execute(() -> {
        for (LeadershipListener l : listeners) {
          try {
            call.accept(l);
          } catch (RuntimeException e) {
            LOG.warn("election {}: listener {} failed", name, l, e);
          }
        }
      });
    } catch (RejectedExecutionException e) {
      LOG.debug("election {} closed; listener call dropped", name);
    }
  }

  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
    }
    try {
      resign();
    } catch (TorusException e) {
      LOG.debug("election {}: could not delete our key; it ends with the lease", name, e);
    }
    EtcdWatcher w;
    synchronized (this) {
      closed = true;
      w = watcher;
      watcher = null;
    }
    session.removeListener(onLost);
    session.removeGrantListener(onGrant);
    if (w != null) {
      w.close();
    }
    notifier.shutdown();
    try {
      notifier.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void checkOpen() {
    kv.checkOpen();
    if (closed) {
      throw new TorusClosedException("election " + name + " is closed");
    }
  }

  /** Re-evaluates on every change under the election's prefix. */
  private final class Evaluator implements EtcdWatcher.Handler {
    @Override
    public long resync() {
      return EtcdLeaderElection.this.resync();
    }

    @Override
    public void events(List<WatchEvent> events) {
      apply(events);
    }
  }
}
