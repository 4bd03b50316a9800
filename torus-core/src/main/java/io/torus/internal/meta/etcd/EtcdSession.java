package io.torus.internal.meta.etcd;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.common.exception.ErrorCode;
import io.etcd.jetcd.common.exception.EtcdException;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.support.CloseableClient;
import io.grpc.stub.StreamObserver;
import io.torus.TorusException;
import io.torus.spi.MetadataService.SessionListener;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's session with etcd: one lease, kept alive, re-granted after it is lost.
 *
 * <p>Invariants: at most one lease is current; a lease, once declared lost, never becomes
 * current again (locks taken under it stay void even if etcd still knows it).
 *
 * <p>Concurrency: thread-safe. State changes run under this object's monitor; keepalive
 * answers arrive on jetcd threads; the watchdog, re-grants and listener calls run on the
 * session's own daemon thread ({@code torus-etcd-session}).
 *
 * <p>Failure: the lease is declared lost at once when etcd says it is gone, when jetcd gives
 * up keeping it alive, or when no keepalive was answered for a whole TTL (the watchdog). Then
 * listeners are told, and a new lease is granted as soon as etcd answers again; nothing that
 * was held under the old lease is re-acquired.
 */
final class EtcdSession implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(EtcdSession.class);

  private final EtcdKv kv;
  private final Client client;
  private final Duration ttl;
  private final Duration requestTimeout;
  private final List<SessionListener> listeners = new CopyOnWriteArrayList<>();
  private final List<LongConsumer> grantListeners = new CopyOnWriteArrayList<>();
  private final ScheduledExecutorService exec;

  private long leaseId;
  private boolean live;
  private boolean closed;
  private CloseableClient keepAlive;
  private volatile long lastAckNanos;
  private Throwable lostCause;
  private long nextGrantNanos;
  private long grantBackoffMillis;

  /**
   * Grants the first lease; throws {@link TorusException} (EIO, retryable) if etcd does not
   * answer within the request timeout.
   */
  EtcdSession(EtcdKv kv, Duration ttl) {
    this.kv = kv;
    this.client = kv.client();
    this.ttl = ttl;
    this.requestTimeout = kv.options().requestTimeout();
    this.exec = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "torus-etcd-session");
      t.setDaemon(true);
      return t;
    });
    try {
      long id = grant();
      synchronized (this) {
        install(id);
      }
      long period = Math.max(50, ttl.toMillis() / 10);
      exec.scheduleWithFixedDelay(this::tick, period, period, TimeUnit.MILLISECONDS);
    } catch (RuntimeException e) {
      exec.shutdownNow();
      throw e;
    }
  }

  /** Adds a listener told (on the session thread) when the current lease is lost. */
  void addListener(SessionListener l) {
    listeners.add(l);
  }

  /**
   * Adds a listener told (on the session thread) the id of every lease granted after a lost
   * one, once it is current.
   */
  void addGrantListener(LongConsumer l) {
    grantListeners.add(l);
  }

  /** Removes a listener added with {@link #addListener}. */
  void removeListener(SessionListener l) {
    listeners.remove(l);
  }

  /** Removes a listener added with {@link #addGrantListener}. */
  void removeGrantListener(LongConsumer l) {
    grantListeners.remove(l);
  }

  /**
   * The current lease.
   *
   * @throws TorusException EIO (retryable) if there is no live lease right now
   */
  synchronized long leaseId() {
    if (closed) {
      throw new io.torus.TorusClosedException("etcd session is closed");
    }
    if (!live) {
      throw new TorusException(io.torus.ErrorCode.EIO, "no etcd session: the lease was lost ("
          + lostCause + ") and etcd has not granted a new one yet", lostCause, true);
    }
    return leaseId;
  }

  /** Whether {@code id} is the current, live lease. */
  synchronized boolean isLive(long id) {
    return live && !closed && leaseId == id;
  }

  /**
   * Whether {@code id} is live and certainly not expired at etcd: its last keepalive answer
   * is younger than the TTL less a margin (etcd renewed it at or before that answer). Unlike
   * {@link #isLive}, it does not wait for the watchdog: a process that was paused past its
   * TTL sees the answer's age at once, from the monotonic clock, when it resumes.
   */
  synchronized boolean isSurelyLive(long id) {
    long margin = Math.min(TimeUnit.SECONDS.toNanos(1), ttl.toNanos() / 4);
    return isLive(id) && System.nanoTime() - lastAckNanos < ttl.toNanos() - margin;
  }

  /** Declares {@code id} lost (if it is the current lease) and tells the listeners. */
  void lost(long id, Throwable cause) {
    synchronized (this) {
      if (closed || !live || leaseId != id) {
        return;
      }
      live = false;
      lostCause = cause;
      if (keepAlive != null) {
        keepAlive.close();
        keepAlive = null;
      }
      nextGrantNanos = System.nanoTime();
      grantBackoffMillis = 100;
    }
    LOG.warn("etcd lease {} lost: {}", Long.toHexString(id), cause.toString());
    try {
      exec.execute(() -> notifyListeners(cause));
    } catch (java.util.concurrent.RejectedExecutionException e) {
      LOG.debug("session closed before listeners could be told", e);
    }
    // Best effort: free the old lease's keys at once if etcd still has it.
    client.getLeaseClient().revoke(id).exceptionally(t -> null);
  }

  private void notifyListeners(Throwable cause) {
    for (SessionListener l : listeners) {
      try {
        l.sessionLost(cause);
      } catch (RuntimeException e) {
        LOG.warn("session listener {} failed", l, e);
      }
    }
  }

  /**
   * When the watchdog last ran: proof that this process was running then. A keepalive answer
   * is credited no later than shortly after it (see {@link Observer#onNext}), so an answer
   * that waited in a socket buffer while the process was paused (SIGSTOP, a long GC) does not
   * look like a fresh renewal: etcd renewed the lease before the pause.
   */
  private volatile long lastTickNanos = System.nanoTime();

  private void tick() {
    lastTickNanos = System.nanoTime();
    long id;
    boolean expired = false;
    boolean grantDue = false;
    synchronized (this) {
      if (closed) {
        return;
      }
      id = leaseId;
      if (live) {
        expired = System.nanoTime() - lastAckNanos > ttl.toNanos();
      } else {
        grantDue = System.nanoTime() - nextGrantNanos >= 0;
      }
    }
    if (expired) {
      lost(id, new TimeoutException("no keepalive of lease " + Long.toHexString(id)
          + " was answered for " + ttl));
      return;
    }
    if (!grantDue) {
      return;
    }
    try {
      long fresh = grant();
      synchronized (this) {
        if (closed) {
          client.getLeaseClient().revoke(fresh).exceptionally(t -> null);
          return;
        }
        install(fresh);
      }
      LOG.info("etcd lease {} granted after the loss of lease {}", Long.toHexString(fresh),
          Long.toHexString(id));
      for (LongConsumer l : grantListeners) {
        try {
          l.accept(fresh);
        } catch (RuntimeException e) {
          LOG.warn("lease grant listener {} failed", l, e);
        }
      }
    } catch (TorusException e) {
      synchronized (this) {
        grantBackoffMillis = Math.min(2000, grantBackoffMillis * 2);
        nextGrantNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(grantBackoffMillis);
      }
      LOG.debug("etcd lease re-grant failed, retrying", e);
    }
  }

  private long grant() {
    return kv.await(client.getLeaseClient().grant(ttl.toSeconds()), "granting a lease").getID();
  }

  private void install(long id) {
    leaseId = id;
    live = true;
    lostCause = null;
    lastAckNanos = System.nanoTime();
    keepAlive = client.getLeaseClient().keepAlive(id, new Observer(id));
  }

  /** Receives keepalive answers for one lease. */
  private final class Observer implements StreamObserver<LeaseKeepAliveResponse> {
    private final long id;

    Observer(long id) {
      this.id = id;
    }

    @Override
    public void onNext(LeaseKeepAliveResponse r) {
      if (r.getTTL() > 0) {
        long now = System.nanoTime();
        long period = Math.max(TimeUnit.MILLISECONDS.toNanos(50), ttl.toNanos() / 10);
        long bound = lastTickNanos + 3 * period; // the process ran until about then
        lastAckNanos = Math.max(lastAckNanos, now - bound > 0 ? bound : now);
      } else {
        lost(id, new IllegalStateException("etcd says lease " + Long.toHexString(id)
            + " has expired"));
      }
    }

    @Override
    public void onError(Throwable t) {
      // A broken stream is retried by jetcd; only a lease etcd no longer has is lost now.
      // Otherwise the watchdog declares the loss when a whole TTL passes unanswered.
      if (t instanceof EtcdException e && e.getErrorCode() == ErrorCode.NOT_FOUND) {
        lost(id, t);
      } else {
        LOG.debug("keepalive stream of lease {} failed", Long.toHexString(id), t);
      }
    }

    @Override
    public void onCompleted() {
      lost(id, new TimeoutException("jetcd stopped keeping lease " + Long.toHexString(id)
          + " alive: its deadline passed without an answer"));
    }
  }

  /** Stops keepalives and revokes the lease (bounded by the request timeout). Idempotent. */
  @Override
  public void close() {
    close(requestTimeout);
  }

  /**
   * Ends the session, waiting at most {@code max} for etcd to revoke the lease (a lease left
   * behind expires by itself after its TTL). Idempotent.
   */
  void close(Duration max) {
    long id;
    boolean wasLive;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      id = leaseId;
      wasLive = live;
      live = false;
      if (keepAlive != null) {
        keepAlive.close();
        keepAlive = null;
      }
    }
    exec.shutdownNow();
    if (wasLive) {
      try {
        client.getLeaseClient().revoke(id).get(Math.max(1, max.toMillis()),
            TimeUnit.MILLISECONDS);
      } catch (Exception e) {
        LOG.warn("could not revoke etcd lease {} on close ({}); it expires by itself within "
            + "its TTL, and with it this node's locks and registrations", Long.toHexString(id),
            e.toString());
        if (e instanceof InterruptedException) {
          Thread.currentThread().interrupt();
        }
      }
    }
    try {
      exec.awaitTermination(Math.max(1, max.toMillis()), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
