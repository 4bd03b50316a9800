package io.torus.internal.meta;

import static io.torus.internal.meta.EtcdMetadataService.absent;
import static io.torus.internal.meta.EtcdMetadataService.bytes;
import static io.torus.internal.meta.EtcdMetadataService.first;
import static io.torus.internal.meta.EtcdMetadataService.modRevision;
import static io.torus.internal.meta.EtcdMetadataService.put;
import static io.torus.internal.meta.EtcdMetadataService.str;

import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.watch.WatchEvent;
import io.torus.ConcurrentUpdateException;
import io.torus.TorusException;
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

  private final EtcdMetadataService meta;
  private final String key;
  private final List<EtcdWatcher> watchers = new CopyOnWriteArrayList<>();

  EtcdRingStore(EtcdMetadataService meta) {
    this.meta = meta;
    this.key = meta.layout().ringKey();
  }

  @Override
  public Optional<VersionedRing> read() {
    meta.checkOpen();
    KeyValue kv = first(meta.await(meta.kv().get(bytes(key)), "reading the ring"));
    return kv == null ? Optional.empty() : Optional.of(EtcdLayout.decodeRing(key, str(kv)));
  }

  @Override
  public VersionedRing update(long expectedVersion, byte[] encoded) {
    if (expectedVersion < 0) {
      throw TorusException.invalid("expected ring version must be >= 0: " + expectedVersion);
    }
    VersionedRing next = new VersionedRing(expectedVersion + 1, encoded);
    meta.checkOpen();
    for (int attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      KeyValue kv = first(meta.await(meta.kv().get(bytes(key)), "reading the ring"));
      long found = kv == null ? 0 : EtcdLayout.decodeRing(key, str(kv)).version();
      if (found != expectedVersion) {
        throw new ConcurrentUpdateException("ring version is " + found + ", not the "
            + "expected " + expectedVersion + "; nothing was stored");
      }
      Cmp unchanged = kv == null ? absent(key) : modRevision(key, kv.getModRevision());
      TxnResponse r = meta.await(meta.kv().txn().If(unchanged)
          .Then(put(key, EtcdLayout.encodeRing(next))).commit(), "updating the ring");
      if (r.isSucceeded()) {
        return next;
      }
    }
    throw new TorusException(io.torus.ErrorCode.EIO, "gave up updating the ring after "
        + MAX_CAS_ATTEMPTS + " lost compare-and-swap races", null, true);
  }

  @Override
  public Subscription watch(RingListener listener) {
    Objects.requireNonNull(listener, "listener");
    meta.checkOpen();
    EtcdWatcher w = new EtcdWatcher(meta.client(), key, false, new Delivery(listener), "ring");
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
      GetResponse r = meta.await(meta.kv().get(bytes(key)), "reading the ring");
      KeyValue kv = first(r);
      if (kv != null) {
        deliver(kv);
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

    private void deliver(KeyValue kv) {
      VersionedRing ring;
      try {
        ring = EtcdLayout.decodeRing(key, str(kv));
      } catch (TorusException e) {
        LOG.error("ring value at revision {} is damaged", kv.getModRevision(), e);
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
