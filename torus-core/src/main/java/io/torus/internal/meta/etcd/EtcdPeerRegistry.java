package io.torus.internal.meta.etcd;

import static io.torus.internal.meta.etcd.EtcdKv.absent;
import static io.torus.internal.meta.etcd.EtcdKv.deleteWithPrevious;
import static io.torus.internal.meta.etcd.EtcdKv.key;
import static io.torus.internal.meta.etcd.EtcdKv.put;
import static io.torus.internal.meta.etcd.EtcdKv.putUnder;
import static io.torus.internal.meta.etcd.EtcdKv.str;

import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.watch.WatchEvent;
import io.etcd.jetcd.kv.TxnResponse;
import io.torus.ErrorCode;
import io.torus.Page;
import io.torus.TorusClosedException;
import io.torus.TorusException;
import io.torus.internal.meta.PeerInfo;
import io.torus.internal.meta.PeerRegistry;
import io.torus.internal.meta.PeerStatus;
import io.torus.internal.meta.Subscription;
import io.torus.internal.meta.etcd.EtcdLayout.PeerValue;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The peer registry in etcd: per peer a persistent {@code peers/NODE/member} record and a
 * {@code peers/NODE/alive} record put under the node's lease (see {@link EtcdLayout}).
 *
 * <p>Invariants: both records are written in one transaction with the same values, so a
 * down peer is listed with what it last registered. A peer is up exactly while its alive key
 * exists (etcd deletes it when the lease ends).
 *
 * <p>Watching ({@link #watch}): one {@link EtcdWatcher} on the {@code peers/} prefix per
 * registry, started by the first subscriber, keeps a copy of the records from the watch's
 * events; each change hands every subscriber the list decoded from that copy. A change costs
 * a watcher the changed record only, so a cluster of N peers that all watch pays O(N) per
 * change, not O(N) listings of N records. {@link #peers} stays a fresh read.
 *
 * <p>Writes: {@link #refresh} with the values already registered under the current lease
 * writes nothing, so a peer whose usage does not change adds no etcd writes (its lease
 * keep-alive keeps it up).
 *
 * <p>Concurrency: thread-safe; this node's own values are kept under this object's monitor;
 * the watched copy is confined to the watcher's thread.
 *
 * <p>Failure: after a lost session the node re-registers itself from the session thread as
 * soon as a new lease is granted; if that fails, the next {@link #refresh} does it.
 */
final class EtcdPeerRegistry implements PeerRegistry {
  private static final Logger LOG = LoggerFactory.getLogger(EtcdPeerRegistry.class);

  private final EtcdKv kv;
  private final EtcdSession session;
  private final EtcdLayout layout;
  private final LongConsumer onGrant = lease -> reRegister();
  private PeerInfo self;
  /** The lease {@link #self} was last written under, or 0 if its last write failed. */
  private long writtenLease;
  private boolean closed;
  private final List<Consumer<List<PeerStatus>>> subscribers = new CopyOnWriteArrayList<>();
  private EtcdWatcher watcher;

  EtcdPeerRegistry(EtcdKv kv, EtcdSession session) {
    this.kv = kv;
    this.session = session;
    this.layout = kv.layout();
    session.addGrantListener(onGrant);
  }

  @Override
  public synchronized void register(PeerInfo info) {
    Objects.requireNonNull(info, "info");
    checkOpen();
    write(info);
    self = info;
  }

  @Override
  public synchronized PeerInfo refresh(long capacityBytes, long usedBytes) {
    checkOpen();
    if (self == null) {
      throw TorusException.invalid("this node is not registered as a peer; register first");
    }
    PeerInfo next = self.withUsage(capacityBytes, usedBytes);
    if (next.equals(self) && writtenLease != 0 && writtenLease == session.leaseId()) {
      return self; // registered as it is under the live lease: nothing to write
    }
    write(next);
    self = next;
    return next;
  }

  private void write(PeerInfo info) {
    long lease = session.leaseId();
    writtenLease = 0;
    kv.await(kv.txn().Then(
        put(layout.memberKey(info.nodeId()), EtcdLayout.encodePeer(info, null)),
        putUnder(layout.aliveKey(info.nodeId()), EtcdLayout.encodePeer(info, lease), lease))
        .commit(), "registering peer " + info.nodeId());
    writtenLease = lease;
  }

  private synchronized void reRegister() {
    if (closed || self == null) {
      return;
    }
    try {
      write(self);
      LOG.info("peer {} registered again under a new lease", self.nodeId());
    } catch (TorusException e) {
      LOG.warn("peer {} could not register again yet; the next refresh retries",
          self.nodeId(), e);
    }
  }

  @Override
  public List<PeerStatus> peers() {
    kv.checkOpen();
    EtcdKv.Listing r = kv.getPrefix(layout.peersPrefix(), "listing peers");
    Map<String, String> records = new TreeMap<>();
    for (KeyValue e : r.kvs()) {
      records.put(key(e), str(e));
    }
    return decode(records);
  }

  /**
   * A page of the peers in id order: the {@code peers/} keys of the page's node ids only (see
   * {@link NamePager}), at one revision.
   */
  @Override
  public Page<PeerStatus> peers(String after, int limit) {
    Page.checkLimit(limit);
    if (after != null) {
      PeerInfo.checkNodeId(after);
    }
    kv.checkOpen();
    NamePager.NamePage page = NamePager.read(kv.pages("listing peers"), layout.peersPrefix(),
        after, limit, 2, 0);
    Map<String, String> records = new TreeMap<>();
    for (NamePager.Group g : page.groups()) {
      for (NamePager.Entry e : g.entries()) {
        records.put(e.key(), e.value());
      }
    }
    return new Page<>(decode(records), page.next());
  }

  /** The peers of the {@code peers/} records given by key (in any order). */
  private List<PeerStatus> decode(Map<String, String> records) {
    Map<String, PeerInfo> members = new TreeMap<>();
    Map<String, PeerInfo> alive = new TreeMap<>();
    for (Map.Entry<String, String> e : records.entrySet()) {
      Record r = record(e.getKey(), e.getValue());
      if (r != null) {
        (r.member() ? members : alive).put(r.info().nodeId(), r.info());
      }
    }
    return statuses(members, alive);
  }

  /** A decoded {@code peers/NODE/member} or {@code peers/NODE/alive} record. */
  private record Record(boolean member, PeerInfo info) {}

  /**
   * The record under {@code key}, or null for a key of another kind under the prefix; EIO if
   * the value does not parse or does not match its key. A null {@code value} (a deleted key)
   * gives a record with a null {@code info}.
   */
  private Record record(String key, String value) {
    String rest = key.substring(layout.peersPrefix().length());
    int slash = rest.indexOf('/');
    String kind = slash < 0 ? "" : rest.substring(slash + 1);
    if (!kind.equals("member") && !kind.equals("alive")) {
      return null;
    }
    if (value == null) {
      return new Record(kind.equals("member"), null);
    }
    PeerValue v = EtcdLayout.decodePeer(key, value);
    if (!v.info().nodeId().equals(rest.substring(0, slash))
        || kind.equals("alive") == (v.lease() == null)) {
      throw EtcdLayout.corrupt(key, value, "does not match its key");
    }
    return new Record(kind.equals("member"), v.info());
  }

  /** Every peer from its member and alive records (by node id), sorted by node id. */
  private static List<PeerStatus> statuses(Map<String, PeerInfo> members,
      Map<String, PeerInfo> alive) {
    List<PeerStatus> out = new ArrayList<>();
    for (Map.Entry<String, PeerInfo> e : members.entrySet()) {
      PeerInfo live = alive.get(e.getKey());
      out.add(live != null ? new PeerStatus(live, true) : new PeerStatus(e.getValue(), false));
    }
    for (Map.Entry<String, PeerInfo> e : alive.entrySet()) {
      if (!members.containsKey(e.getKey())) {
        // Removed while it was up and coming back: it is up, list it.
        out.add(new PeerStatus(e.getValue(), true));
      }
    }
    out.sort((a, b) -> a.nodeId().compareTo(b.nodeId()));
    return out;
  }

  @Override
  public Optional<PeerStatus> peer(String nodeId) {
    PeerInfo.checkNodeId(nodeId);
    return peers().stream().filter(p -> p.nodeId().equals(nodeId)).findFirst();
  }

  @Override
  public Subscription onChange(Runnable changed) {
    Objects.requireNonNull(changed, "changed");
    return watch(peers -> changed.run());
  }

  @Override
  public Subscription watch(Consumer<List<PeerStatus>> listener) {
    Objects.requireNonNull(listener, "listener");
    checkOpen();
    Consumer<List<PeerStatus>> mine = listener::accept; // one listener added twice: two
    subscribers.add(mine);
    synchronized (this) {
      if (watcher == null && !closed) {
        watcher = new EtcdWatcher(kv, layout.peersPrefix(), true, new Copy(), "peers");
      }
    }
    return () -> subscribers.remove(mine);
  }

  /**
   * The watched copy of the {@code peers/} records, decoded: an event decodes only the record
   * it changed. Confined to the watcher's thread.
   */
  private final class Copy implements EtcdWatcher.Handler {
    /** Member and alive records by node id. */
    private final Map<String, PeerInfo> members = new TreeMap<>();
    private final Map<String, PeerInfo> alive = new TreeMap<>();

    @Override
    public long resync() {
      EtcdKv.Listing r = kv.getPrefix(layout.peersPrefix(), "listing peers");
      members.clear();
      alive.clear();
      for (KeyValue e : r.kvs()) {
        apply(key(e), str(e));
      }
      deliver();
      return r.revision();
    }

    @Override
    public void events(List<WatchEvent> events) {
      for (WatchEvent e : events) {
        apply(key(e.getKeyValue()), e.getEventType() == WatchEvent.EventType.DELETE ? null
            : str(e.getKeyValue()));
      }
      deliver();
    }

    private void apply(String key, String value) {
      Record r;
      try {
        r = record(key, value);
      } catch (TorusException e) {
        LOG.warn("a peer record is damaged; watchers keep its last value: {}", e.getMessage());
        return;
      }
      if (r == null) {
        return;
      }
      Map<String, PeerInfo> into = r.member() ? members : alive;
      if (r.info() == null) {
        String rest = key.substring(layout.peersPrefix().length());
        into.remove(rest.substring(0, rest.indexOf('/')));
      } else {
        into.put(r.info().nodeId(), r.info());
      }
    }

    private void deliver() {
      List<PeerStatus> now = statuses(members, alive);
      for (Consumer<List<PeerStatus>> s : subscribers) {
        try {
          s.accept(now);
        } catch (RuntimeException e) {
          LOG.warn("peer list subscriber failed", e);
        }
      }
    }
  }

  @Override
  public boolean remove(String nodeId) {
    String member = layout.memberKey(nodeId);
    String alive = layout.aliveKey(nodeId);
    kv.checkOpen();
    TxnResponse r = kv.await(kv.txn()
        .If(absent(alive))
        .Then(deleteWithPrevious(member))
        .commit(), "removing peer " + nodeId);
    if (!r.isSucceeded()) {
      throw new TorusException(ErrorCode.EPERM, "peer '" + nodeId + "' is up; stop it before"
          + " removing it");
    }
    return r.getDeleteResponses().get(0).getDeleted() > 0;
  }

  @Override
  public void close() {
    PeerInfo me;
    EtcdWatcher w;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      me = self;
      w = watcher;
    }
    if (w != null) {
      w.close();
    }
    subscribers.clear();
    session.removeGrantListener(onGrant);
    if (me != null) {
      try {
        kv.delete(layout.aliveKey(me.nodeId()), "unregistering peer " + me.nodeId());
      } catch (TorusException e) {
        LOG.debug("could not delete the alive record of {}; it ends with the lease",
            me.nodeId(), e);
      }
    }
  }

  private void checkOpen() {
    kv.checkOpen();
    if (closed) {
      throw new TorusClosedException("peer registry is closed");
    }
  }
}
