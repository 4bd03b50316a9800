package io.torus.internal.meta.etcd;

import static io.torus.internal.meta.etcd.EtcdKv.absent;
import static io.torus.internal.meta.etcd.EtcdKv.first;
import static io.torus.internal.meta.etcd.EtcdKv.getOp;
import static io.torus.internal.meta.etcd.EtcdKv.put;
import static io.torus.internal.meta.etcd.EtcdKv.str;

import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.TxnResponse;
import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.internal.meta.PeerAuthority;
import java.security.SecureRandom;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What peers need from etcd to authorize requests: the cluster token and the volumes'
 * current fencing epochs. Reads the keys of {@link EtcdLayout}; writes only the token, once.
 *
 * <p><b>Cluster token.</b> 128 random bits under {@code cluster/token}, created by the first
 * node that starts (a create-if-absent transaction: two nodes starting at once agree on one),
 * read by every node at start. The GC leader and the rebalancer present it with deletes that
 * carry no epoch. Anyone who can read etcd, or (without TLS) the peer traffic, can learn it.
 *
 * <p><b>Epochs.</b> {@link #isCurrent} is true only if the volume's lock key exists with
 * exactly that create revision (the epoch of a lock is its key's create revision). Positive
 * answers are cached per volume (the newest confirmed epoch): a volume's epochs only grow,
 * and the peer asks only for epochs above the highest it accepted. Negative answers are not
 * cached. Concurrent questions about one volume share one read of its lock (a caller whose
 * epoch that read does not confirm reads again: the shared read may predate its lock).
 *
 * <p>Thread-safe. Calls block for at most the metadata service's request timeout and throw
 * {@link TorusException} (EIO, retryable) if etcd does not answer.
 */
final class EtcdPeerAuthority implements PeerAuthority {
  private final EtcdKv kv;
  private final byte[] token;
  private final Map<Long, Long> confirmed = new ConcurrentHashMap<>();
  /** Per volume, the read of its lock in progress (see {@link #isCurrent}). */
  private final Map<Long, CompletableFuture<Long>> reading = new ConcurrentHashMap<>();

  private EtcdPeerAuthority(EtcdKv kv, byte[] token) {
    this.kv = kv;
    this.token = token;
  }

  /**
   * Reads (creating it if absent) the cluster token.
   *
   * @throws TorusException EIO if etcd fails; closed if the service is
   */
  static EtcdPeerAuthority open(EtcdKv kv) {
    kv.checkOpen();
    String key = kv.layout().clusterTokenKey();
    byte[] fresh = new byte[16];
    new SecureRandom().nextBytes(fresh);
    TxnResponse r = kv.await(kv.txn()
        .If(absent(key))
        .Then(put(key, EtcdLayout.encodeToken(fresh)))
        .Else(getOp(key))
        .commit(), "creating or reading the cluster token");
    if (r.isSucceeded()) {
      return new EtcdPeerAuthority(kv, fresh);
    }
    KeyValue e = first(r.getGetResponses().get(0));
    if (e == null) {
      throw new TorusException(ErrorCode.EIO, "cluster token " + key + " vanished", null,
          true);
    }
    return new EtcdPeerAuthority(kv, EtcdLayout.decodeToken(key, str(e)));
  }

  @Override
  public byte[] clusterToken() {
    return token.clone();
  }

  /** Whether {@code epoch} is the create revision of the volume's lock key now. */
  @Override
  public boolean isCurrent(long volumeId, long epoch) {
    Long c = confirmed.get(volumeId);
    if (c != null && c == epoch) {
      return true;
    }
    kv.checkOpen();
    // The first puts of a new writer reach a peer together: they share one read of the lock
    // instead of each taking a peer worker for an etcd round trip of its own.
    CompletableFuture<Long> mine = new CompletableFuture<>();
    CompletableFuture<Long> shared = reading.putIfAbsent(volumeId, mine);
    long found;
    if (shared == null) {
      try {
        found = lockRevision(volumeId);
        mine.complete(found);
      } catch (RuntimeException e) {
        mine.completeExceptionally(e);
        throw e;
      } finally {
        reading.remove(volumeId, mine);
      }
    } else {
      try {
        found = shared.join();
      } catch (CompletionException e) {
        found = lockRevision(volumeId);
      }
      if (found != epoch) {
        found = lockRevision(volumeId); // that read may have begun before this lock existed
      }
    }
    boolean ok = found == epoch;
    if (ok) {
      confirmed.merge(volumeId, epoch, Math::max);
    }
    return ok;
  }

  /** The create revision of the volume's lock key now, or -1 if there is no lock. */
  private long lockRevision(long volumeId) {
    KeyValue e = kv.get(kv.layout().lockKey(volumeId), "reading the lock of volume "
        + volumeId);
    return e == null ? -1 : e.getCreateRevision();
  }

  @Override
  public String toString() {
    return "EtcdPeerAuthority[" + kv.layout().base() + "]";
  }
}
