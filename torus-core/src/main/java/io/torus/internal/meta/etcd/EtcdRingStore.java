package io.torus.internal.meta.etcd;

import static io.torus.internal.meta.etcd.EtcdKv.absent;
import static io.torus.internal.meta.etcd.EtcdKv.contention;
import static io.torus.internal.meta.etcd.EtcdKv.first;
import static io.torus.internal.meta.etcd.EtcdKv.modRevision;
import static io.torus.internal.meta.etcd.EtcdKv.put;
import static io.torus.internal.meta.etcd.EtcdKv.str;

import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.watch.WatchEvent;
import io.torus.ConcurrentUpdateException;
import io.torus.TorusException;
import io.torus.internal.meta.RingStore;
import io.torus.internal.meta.Subscription;
import io.torus.internal.meta.VersionedRing;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ring in etcd: one key, {@code ring/current} (see {@link EtcdLayout}), whose value holds
 * the version and the encoded ring.
 *
 * <p>Invariants: the stored version only grows, by one per update; an update is one
 * transaction comparing the key's mod revision with the one read (create revision 0 for the
 * first ring). Watches deliver versions in increasing order, each at most once.
 *
 * <p>Concurrency: thread-safe. Each watch has its own {@link EtcdWatcher} thread on which its
 * listener is called.
 *
 * <p>Failure: see {@link EtcdWatcher} for how watches survive disconnects and compaction. A
 * damaged ring value is an EIO error for {@link #read} and a
 * {@link RingListener#ringUnreadable} call for watchers; it is never overwritten except by an
 * {@link #update} that expects the version it held (which cannot be read, so only an operator
 * can repair it).
 */
final class EtcdRingStore implements RingStore {
  private static final Logger LOG = LoggerFactory.getLogger(EtcdRingStore.class);
  private static final int MAX_CAS_ATTEMPTS = 100;

  private final EtcdKv kv;
  private final String key;
  private final List<EtcdWatcher> watchers = new CopyOnWriteArrayList<>();

  EtcdRingStore(EtcdKv kv) {
    this.kv = kv;
    this.key = kv.layout().ringKey();
  }

  @Override
  public Optional<VersionedRing> read() {
    kv.checkOpen();
    KeyValue e = kv.get(key, "reading the ring");
    return e == null ? Optional.empty() : Optional.of(EtcdLayout.decodeRing(key, str(e)));
  }

  @Override
  public VersionedRing update(long expectedVersion, byte[] encoded) {
    if (expectedVersion < 0) {
      throw TorusException.invalid("expected ring version must be >= 0: " + expectedVersion);
    }
    VersionedRing next = new VersionedRing(expectedVersion + 1, encoded);
    kv.checkOpen();
    for (int attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      KeyValue e = kv.get(key, "reading the ring");
      long found = e == null ? 0 : EtcdLayout.decodeRing(key, str(e)).version();
      if (found != expectedVersion) {
        throw new ConcurrentUpdateException("ring version is " + found + ", not the "
            + "expected " + expectedVersion + "; nothing was stored");
      }
      Cmp unchanged = e == null ? absent(key) : modRevision(key, e.getModRevision());
      TxnResponse r = kv.await(kv.txn().If(unchanged)
          .Then(put(key, EtcdLayout.encodeRing(next))).commit(), "updating the ring");
      if (r.isSucceeded()) {
        return next;
      }
    }
    throw contention("updating the ring", MAX_CAS_ATTEMPTS);
  }

  @Override
  public Subscription watch(RingListener listener) {
    Objects.requireNonNull(listener, "listener");
    kv.checkOpen();
    EtcdWatcher w = new EtcdWatcher(kv, key, false, new Delivery(listener), "ring");
    watchers.add(w);
    return () -> {
      watchers.remove(w);
      w.close();
    };
  }

  /** Stops every watch. */
  void close() {
    for (EtcdWatcher w : watchers) {
      w.close();
    }
    watchers.clear();
  }

  /** Turns reads and events into listener calls; confined to one watcher thread. */
  private final class Delivery implements EtcdWatcher.Handler {
    private final RingListener listener;
    private long delivered;

    Delivery(RingListener listener) {
      this.listener = listener;
    }

    @Override
    public long resync() {
      GetResponse r = kv.read(key, "reading the ring");
      KeyValue e = first(r);
      if (e != null) {
        deliver(e);
      }
      return r.getHeader().getRevision();
    }

    @Override
    public void events(List<WatchEvent> events) {
      for (WatchEvent e : events) {
        if (e.getEventType() == WatchEvent.EventType.PUT) {
          deliver(e.getKeyValue());
        } else {
          LOG.warn("the ring key {} was deleted; keeping ring version {}", key, delivered);
        }
      }
    }

    private void deliver(KeyValue value) {
      VersionedRing ring;
      try {
        ring = EtcdLayout.decodeRing(key, str(value));
      } catch (TorusException e) {
        LOG.error("ring value at revision {} is damaged", value.getModRevision(), e);
        listener.ringUnreadable(e);
        return;
      }
      if (ring.version() > delivered) {
        delivered = ring.version();
        try {
          listener.ringChanged(ring);
        } catch (RuntimeException e) {
          LOG.warn("ring listener {} failed on version {}", listener, ring.version(), e);
        }
      }
    }
  }
}
