package io.torus.internal.meta;

import static io.torus.internal.meta.EtcdMetadataService.absent;
import static io.torus.internal.meta.EtcdMetadataService.bytes;
import static io.torus.internal.meta.EtcdMetadataService.first;
import static io.torus.internal.meta.EtcdMetadataService.put;
import static io.torus.internal.meta.EtcdMetadataService.str;

import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.torus.ErrorCode;
import io.torus.TorusException;
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
public final class EtcdPeerAuthority implements PeerAuthority {
  private final EtcdMetadataService meta;
  private final byte[] token;
  private final Map<Long, Long> confirmed = new ConcurrentHashMap<>();

  private EtcdPeerAuthority(EtcdMetadataService meta, byte[] token) {
    this.meta = meta;
    this.token = token;
  }

  /**
   * Reads (creating it if absent) the cluster token of the etcd cluster behind
   * {@code coordination}.
   *
   * @throws TorusException EINVAL if {@code coordination} is not etcd's; EIO if etcd fails
   */
  public static EtcdPeerAuthority open(Coordination coordination) {
    if (!(coordination instanceof EtcdMetadataService)) {
      throw TorusException.invalid("peer authorization needs etcd coordination, not "
          + coordination);
    }
    EtcdMetadataService meta = (EtcdMetadataService) coordination;
    meta.checkOpen();
    String key = meta.layout().clusterTokenKey();
    byte[] fresh = new byte[16];
    new SecureRandom().nextBytes(fresh);
    TxnResponse r = meta.await(meta.kv().txn()
        .If(absent(key))
        .Then(put(key, EtcdLayout.encodeToken(fresh)))
        .Else(Op.get(bytes(key), GetOption.DEFAULT))
        .commit(), "creating or reading the cluster token");
    if (r.isSucceeded()) {
      return new EtcdPeerAuthority(meta, fresh);
    }
    KeyValue kv = first(r.getGetResponses().get(0));
    if (kv == null) {
      throw new TorusException(ErrorCode.EIO, "cluster token " + key + " vanished", null,
          true);
    }
    return new EtcdPeerAuthority(meta, EtcdLayout.decodeToken(key, str(kv)));
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
    meta.checkOpen();
    String key = meta.layout().lockKey(volumeId);
    KeyValue kv = first(meta.await(meta.kv().get(bytes(key)), "reading the lock of volume "
        + volumeId));
    boolean ok = kv != null && kv.getCreateRevision() == epoch;
    if (ok) {
      confirmed.merge(volumeId, epoch, Math::max);
    }
    return ok;
  }

  @Override
  public String toString() {
    return "EtcdPeerAuthority[" + meta.keyPrefix() + "]";
  }
}
