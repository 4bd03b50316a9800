package io.torus.internal.meta;

import static io.torus.internal.meta.EtcdMetadataService.bytes;
import static io.torus.internal.meta.EtcdMetadataService.put;
import static io.torus.internal.meta.EtcdMetadataService.str;

import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.internal.meta.EtcdLayout.PeerValue;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
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
 * <p>Concurrency: thread-safe; this node's own values are kept under this object's monitor.
 *
 * <p>Failure: after a lost session the node re-registers itself from the session thread as
 * soon as a new lease is granted; if that fails, the next {@link #refresh} does it.
 */
final class EtcdPeerRegistry implements PeerRegistry {
  private static final Logger LOG = LoggerFactory.getLogger(EtcdPeerRegistry.class);

  private final EtcdMetadataService meta;
  private final EtcdLayout layout;
  private final LongConsumer onGrant = lease -> reRegister();
  private PeerInfo self;
  private boolean closed;

  EtcdPeerRegistry(EtcdMetadataService meta) {
    this.meta = meta;
    this.layout = meta.layout();
    meta.session().addGrantListener(onGrant);
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
    write(next);
    self = next;
    return next;
  }

  private void write(PeerInfo info) {
    long lease = meta.session().leaseId();
    meta.await(meta.kv().txn().Then(
        put(layout.memberKey(info.nodeId()), EtcdLayout.encodePeer(info, null)),
        Op.put(bytes(layout.aliveKey(info.nodeId())), bytes(EtcdLayout.encodePeer(info, lease)),
            PutOption.builder().withLeaseId(lease).build())).commit(),
        "registering peer " + info.nodeId());
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
    meta.checkOpen();
    GetResponse r = meta.await(meta.kv().get(bytes(layout.peersPrefix()),
        GetOption.builder().isPrefix(true).build()), "listing peers");
    Map<String, PeerInfo> members = new TreeMap<>();
    Map<String, PeerInfo> alive = new TreeMap<>();
    for (KeyValue kv : r.getKvs()) {
      String key = str(kv.getKey());
      String rest = key.substring(layout.peersPrefix().length());
      int slash = rest.indexOf('/');
      String kind = slash < 0 ? "" : rest.substring(slash + 1);
      if (!kind.equals("member") && !kind.equals("alive")) {
        continue;
      }
      PeerValue v = EtcdLayout.decodePeer(key, str(kv));
      if (!v.info().nodeId().equals(rest.substring(0, slash))
          || kind.equals("alive") == (v.lease() == null)) {
        throw EtcdLayout.corrupt(key, str(kv), "does not match its key");
      }
      (kind.equals("member") ? members : alive).put(v.info().nodeId(), v.info());
    }
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
  public boolean remove(String nodeId) {
    String member = layout.memberKey(nodeId);
    String alive = layout.aliveKey(nodeId);
    meta.checkOpen();
    TxnResponse r = meta.await(meta.kv().txn()
        .If(new Cmp(bytes(alive), Cmp.Op.EQUAL, CmpTarget.createRevision(0)))
        .Then(Op.delete(bytes(member), DeleteOption.builder().withPrevKV(true).build()))
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
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      me = self;
    }
    meta.session().removeGrantListener(onGrant);
    if (me != null) {
      try {
        meta.await(meta.kv().delete(bytes(layout.aliveKey(me.nodeId()))),
            "unregistering peer " + me.nodeId());
      } catch (TorusException e) {
        LOG.debug("could not delete the alive record of {}; it ends with the lease",
            me.nodeId(), e);
      }
    }
  }

  private void checkOpen() {
    meta.checkOpen();
    if (closed) {
      throw new io.torus.TorusClosedException("peer registry is closed");
    }
  }
}
