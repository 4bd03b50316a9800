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
import java.util.List;
import java.util.Objects;
import java.util.Optional;
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
 * election's prefix; listener calls run one at a time, in order, on the election's own
 * notifier thread.
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
    kv.await(kv.txn().If(absent(key))
        .Then(putUnder(key, EtcdLayout.encodeCandidate(candidate), lease)).commit(),
        "campaigning in election " + name);
    synchronized (this) {
      if (campaigning && !closed && session.isLive(lease)) {
        myLease = lease;
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
      evaluate(null);
    } catch (TorusException e) {
      LOG.debug("election {}: could not read the candidates", name, e);
    }
  }

  /**
   * Decides from the candidates (read now, or {@code r} if given) whether we lead. Runs on the
   * watcher thread.
   */
  private long evaluate(GetResponse given) {
    GetResponse r = given != null ? given : readCandidates();
    KeyValue oldest = r.getKvs().isEmpty() ? null : r.getKvs().get(0);
    boolean needJoin;
    synchronized (this) {
      if (closed) {
        return r.getHeader().getRevision();
      }
      String mine = myLease == 0 ? null : kv.layout().candidateKey(name, myLease);
      boolean present = mine != null && r.getKvs().stream()
          .anyMatch(e -> key(e).equals(mine));
      if (mine != null && !present) {
        myLease = 0; // our key is gone (lease ended or deleted): join again if campaigning
      }
      needJoin = campaigning && myLease == 0;
      boolean leads = oldest != null && mine != null && present
          && key(oldest).equals(mine) && session.isLive(myLease);
      if (leads && term == 0) {
        term = oldest.getCreateRevision();
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
    return r.getHeader().getRevision();
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
      return evaluate(null);
    }

    @Override
    public void events(List<WatchEvent> events) {
      evaluateQuietly();
    }
  }
}
