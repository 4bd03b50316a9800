package io.torus.internal.meta.etcd;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.common.exception.CompactedException;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.etcd.jetcd.watch.WatchResponse;
import io.torus.internal.meta.Subscription;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A watch on one etcd key or prefix that never silently stops: it resumes after disconnects
 * and recovers from compaction.
 *
 * <p>Invariants: the handler sees a {@link Handler#resync} (a fresh read) first, then the
 * events after the revision that read was made at, in revision order, each once. When etcd
 * no longer has the history the watch needs ({@link CompactedException}), the handler gets a
 * new resync and events continue after its revision. After any other error (connection
 * lost, etcd restarted, the stream ended), the watch is opened again from the last revision
 * seen + 1, so no event is lost or repeated.
 *
 * <p>Concurrency: jetcd callbacks only hand work to this watcher's own single daemon thread;
 * every handler call runs there, one at a time. Stale callbacks of a replaced jetcd watch are
 * ignored (each jetcd watch has a serial number).
 *
 * <p>Failure: a resync or re-watch that fails is retried with a backoff from 100 ms up to
 * 2 s, for as long as the watcher is open. Handler exceptions are logged and do not stop it.
 */
final class EtcdWatcher implements Subscription {
  private static final Logger LOG = LoggerFactory.getLogger(EtcdWatcher.class);
  private static final long MIN_BACKOFF_MS = 100;
  private static final long MAX_BACKOFF_MS = 2000;

  /** What the watcher reports to; called on the watcher's thread only. */
  interface Handler {
    /**
     * Reads the watched state afresh and returns the etcd revision the read was made at
     * (its response header revision). Throwing makes the watcher retry later.
     */
    long resync();

    /** Changes after the last resync or event, in order. */
    void events(List<WatchEvent> events);
  }

  private final Client client;
  private final ByteSequence key;
  private final boolean prefix;
  private final Handler handler;
  private final String what;
  private final ScheduledExecutorService exec;

  // Confined to exec.
  private Watch.Watcher watcher;
  private long serial;
  private long lastSeen;
  private long backoffMillis = MIN_BACKOFF_MS;
  private volatile boolean closed;

  /**
   * Starts watching; the first resync runs at once on the watcher's thread.
   *
   * @param what names the watch in thread names and logs
   */
  EtcdWatcher(EtcdKv kv, String key, boolean prefix, Handler handler, String what) {
    this.client = kv.client();
    this.key = EtcdKv.bytes(key);
    this.prefix = prefix;
    this.handler = handler;
    this.what = what;
    ScheduledThreadPoolExecutor e = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "torus-etcd-watch-" + what);
      t.setDaemon(true);
      return t;
    });
    e.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    this.exec = e;
    run(this::resyncAndWatch);
  }

  /** Runs {@code task} on the watcher's thread (unless closed). */
  void run(Runnable task) {
    try {
      exec.execute(() -> {
        if (!closed) {
          task.run();
        }
      });
    } catch (RejectedExecutionException e) {
      LOG.debug("watch {} closed", what);
    }
  }

  private void later(Runnable task) {
    long delay = backoffMillis;
    backoffMillis = Math.min(MAX_BACKOFF_MS, backoffMillis * 2);
    try {
      exec.schedule(() -> {
        if (!closed) {
          task.run();
        }
      }, delay, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException e) {
      LOG.debug("watch {} closed", what);
    }
  }

  private void resyncAndWatch() {
    stopJetcdWatch();
    long rev;
    try {
      rev = handler.resync();
    } catch (RuntimeException e) {
      LOG.debug("watch {}: resync failed, retrying", what, e);
      later(this::resyncAndWatch);
      return;
    }
    lastSeen = rev;
    watchFrom(rev + 1);
  }

  private void watchFrom(long revision) {
    stopJetcdWatch();
    long mine = ++serial;
    WatchOption.Builder o = WatchOption.builder().withRevision(revision)
        .withProgressNotify(true);
    if (prefix) {
      o.isPrefix(true);
    }
    try {
      watcher = client.getWatchClient().watch(key, o.build(), new Listener(mine));
    } catch (RuntimeException e) {
      LOG.debug("watch {}: cannot open a watch from revision {}", what, revision, e);
      later(() -> watchFrom(lastSeen + 1));
    }
  }

  private void stopJetcdWatch() {
    serial++;
    Watch.Watcher w = watcher;
    watcher = null;
    if (w != null) {
      try {
        w.close();
      } catch (RuntimeException e) {
        LOG.debug("watch {}: closing a jetcd watch failed", what, e);
      }
    }
  }

  private void onResponse(long mine, WatchResponse r) {
    if (mine != serial) {
      return;
    }
    backoffMillis = MIN_BACKOFF_MS;
    List<WatchEvent> events = r.getEvents();
    if (!events.isEmpty()) {
      long last = events.get(events.size() - 1).getKeyValue().getModRevision();
      try {
        handler.events(events);
      } catch (RuntimeException e) {
        LOG.warn("watch {}: handler failed on events up to revision {}", what, last, e);
      }
      lastSeen = Math.max(lastSeen, last);
    } else if (r.isProgressNotify()) {
      // Everything up to the header revision has been delivered.
      lastSeen = Math.max(lastSeen, r.getHeader().getRevision());
    }
  }

  private void onFailure(long mine, Throwable t) {
    if (mine != serial) {
      return;
    }
    stopJetcdWatch();
    if (t instanceof CompactedException c) {
      LOG.info("watch {}: history before revision {} was compacted (needed {}); re-reading",
          what, c.getCompactedRevision(), lastSeen + 1);
      backoffMillis = MIN_BACKOFF_MS;
      resyncAndWatch();
    } else {
      LOG.debug("watch {}: stream ended ({}); resuming from revision {}", what, t,
          lastSeen + 1);
      later(() -> watchFrom(lastSeen + 1));
    }
  }

  /** Hands jetcd's callbacks to the watcher's thread. */
  private final class Listener implements Watch.Listener {
    private final long mine;

    Listener(long mine) {
      this.mine = mine;
    }

    @Override
    public void onNext(WatchResponse response) {
      run(() -> onResponse(mine, response));
    }

    @Override
    public void onError(Throwable t) {
      run(() -> onFailure(mine, t));
    }

    @Override
    public void onCompleted() {
      run(() -> onFailure(mine, new IllegalStateException("watch stream completed")));
    }
  }

  /** Stops the watch and its thread (waits up to 5 s for a running handler call). */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      exec.execute(this::stopJetcdWatch);
    } catch (RejectedExecutionException e) {
      return;
    }
    exec.shutdown();
    try {
      if (!exec.awaitTermination(5, TimeUnit.SECONDS)) {
        exec.shutdownNow();
      }
    } catch (InterruptedException e) {
      exec.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }
}
