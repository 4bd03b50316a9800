package io.torus.internal.meta;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.torus.ErrorCode;
import io.torus.TorusException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@link ClusterDirectory} over etcd, sharing the metadata service's client and lease.
 *
 * <pre>
 * +------------------+-----------------------------------------------------------+
 * | key (ROOT/v1/)   | value                                                     |
 * +------------------+-----------------------------------------------------------+
 * | peers/NODE-ID    | v1 host=HOST port=N capacity=N (UTF-8, under the lease)   |
 * | ring             | the ring's binary encoding, format 1 (see RingCodec)      |
 * +------------------+-----------------------------------------------------------+
 * </pre>
 *
 * <p>The ring's compare-and-swap token is its mod revision. Thread-safe.
 */
final class EtcdClusterDirectory implements ClusterDirectory {
  private static final Pattern PEER = Pattern.compile(
      "v1 host=(\\S+) port=(\\d{1,5}) capacity=(\\d{1,19})");

  private final KV kv;
  private final EtcdSession session;
  private final String base;
  private final Duration timeout;

  EtcdClusterDirectory(KV kv, EtcdSession session, String base, Duration timeout) {
    this.kv = kv;
    this.session = session;
    this.base = base;
    this.timeout = timeout;
  }

  private String peerKey(String id) {
    return base + "peers/" + id;
  }

  @Override
  public void register(PeerRecord self) {
    String value = "v1 host=" + self.host() + " port=" + self.port() + " capacity="
        + self.capacity();
    long lease = session.leaseId();
    await(kv.put(bytes(peerKey(self.nodeId())), bytes(value),
        PutOption.builder().withLeaseId(lease).build()), "registering peer " + self.nodeId());
  }

  @Override
  public void deregister(String nodeId) {
    await(kv.delete(bytes(peerKey(nodeId))), "deregistering peer " + nodeId);
  }

  @Override
  public List<PeerRecord> peers() {
    String prefix = base + "peers/";
    GetResponse r = await(kv.get(bytes(prefix), GetOption.builder().isPrefix(true).build()),
        "listing peers");
    List<PeerRecord> out = new ArrayList<>();
    for (KeyValue e : r.getKvs()) {
      String key = e.getKey().toString(StandardCharsets.UTF_8);
      if (key.indexOf('/', prefix.length()) >= 0) {
        continue; // a PeerRegistry record (peers/NODE/member or /alive), not a directory entry
      }
      Matcher m = PEER.matcher(e.getValue().toString(StandardCharsets.UTF_8));
      if (!m.matches()) {
        throw new TorusException(ErrorCode.EIO, "etcd key " + key + " is not a peer record");
      }
      out.add(new PeerRecord(key.substring(prefix.length()), m.group(1),
          Integer.parseInt(m.group(2)), Long.parseLong(m.group(3))));
    }
    out.sort((a, b) -> a.nodeId().compareTo(b.nodeId()));
    return out;
  }

  @Override
  public Optional<StoredRing> ring() {
    GetResponse r = await(kv.get(bytes(base + "ring")), "reading the ring");
    if (r.getKvs().isEmpty()) {
      return Optional.empty();
    }
    KeyValue e = r.getKvs().get(0);
    return Optional.of(new StoredRing(e.getValue().getBytes(), e.getModRevision()));
  }

  @Override
  public boolean compareAndSetRing(long expectedRevision, byte[] ring) {
    ByteSequence key = bytes(base + "ring");
    Cmp cmp = expectedRevision == 0
        ? new Cmp(key, Cmp.Op.EQUAL, CmpTarget.createRevision(0))
        : new Cmp(key, Cmp.Op.EQUAL, CmpTarget.modRevision(expectedRevision));
    TxnResponse r = await(kv.txn().If(cmp)
        .Then(Op.put(key, ByteSequence.from(ring), PutOption.DEFAULT)).commit(),
        "replacing the ring");
    return r.isSucceeded();
  }

  private static ByteSequence bytes(String s) {
    return ByteSequence.from(s, StandardCharsets.UTF_8);
  }

  private <T> T await(CompletableFuture<T> f, String what) {
    try {
      return f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      f.cancel(true);
      throw new TorusException(ErrorCode.EIO, "etcd did not answer within " + timeout
          + " while " + what, null, true);
    } catch (ExecutionException e) {
      throw new TorusException(ErrorCode.EIO, "etcd failed " + what + ": " + e.getCause(),
          e.getCause(), true);
    } catch (InterruptedException e) {
      f.cancel(true);
      Thread.currentThread().interrupt();
      throw new TorusException(ErrorCode.EIO, "interrupted while " + what, e);
    }
  }
}
