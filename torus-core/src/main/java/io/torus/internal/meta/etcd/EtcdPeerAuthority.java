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
 * cached.
 *
 * <p>Thread-safe. Calls block for at most the metadata service's request timeout and throw
 * {@link TorusException} (EIO, retryable) if etcd does not answer.
 */
final class EtcdPeerAuthority implements PeerAuthority {
  private final EtcdKv kv;
  private final byte[] token;
  private final Map<Long, Long> confirmed = new ConcurrentHashMap<>();

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
    String key = kv.layout().lockKey(volumeId);
    KeyValue e = kv.get(key, "reading the lock of volume " + volumeId);
    boolean ok = e != null && e.getCreateRevision() == epoch;
    if (ok) {
      confirmed.merge(volumeId, epoch, Math::max);
    }
    return ok;
  }

  @Override
  public String toString() {
    return "EtcdPeerAuthority[" + kv.layout().base() + "]";
  }
}
