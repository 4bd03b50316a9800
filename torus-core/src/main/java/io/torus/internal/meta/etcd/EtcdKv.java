package io.torus.internal.meta.etcd;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.ClientBuilder;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Txn;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.OptionsUtil;
import io.etcd.jetcd.options.PutOption;
import io.torus.ErrorCode;
import io.torus.TorusClosedException;
import io.torus.TorusException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The jetcd client of one metadata service and the one way every etcd class talks to it:
 * calls bounded by the request timeout, jetcd and gRPC failures turned into
 * {@link TorusException}, and the compare, put and get building blocks of transactions.
 * Keys come from {@link EtcdLayout}; values are UTF-8 text.
 *
 * <p>Invariants: one {@link Client} per instance, closed by {@link #close}. Once
 * {@link #markClosed} ran, {@link #checkOpen} throws {@link TorusClosedException}; calls
 * already under way still finish (the service's clean-up needs them).
 *
 * <p>Concurrency: thread-safe; {@link #await} blocks its caller only.
 *
 * <p>Failure: an etcd that does not answer within the request timeout (or, once
 * {@link #shutdownWithin} was called, the shutdown budget) gives {@link ErrorCode#EIO},
 * retryable, naming the endpoints and what was being done, with a TLS hint when TLS is on. An
 * error etcd or jetcd reports is EIO, retryable, with that error as the cause. An interrupt
 * gives EIO with the interrupt flag set again. A call that timed out may still be applied.
 */
final class EtcdKv implements AutoCloseable {
  /** How often a waiting call looks at the shutdown deadline. */
  private static final long DEADLINE_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

  private final EtcdOptions options;
  private final EtcdLayout layout;
  private final Client client;
  private final KV kv;
  private final String name;
  private volatile boolean closed;
  private volatile long shutdownDeadline = Long.MAX_VALUE;

  /**
   * Builds the client (it connects lazily, on the first call).
   *
   * @throws TorusException EINVAL if the TLS files cannot be used
   */
  EtcdKv(EtcdOptions options) {
    this.options = options;
    this.layout = new EtcdLayout(options.rootPrefix());
    this.client = buildClient(options);
    this.kv = client.getKVClient();
    this.name = "EtcdMetadataService[" + options.endpoints() + " " + layout.base() + "]";
  }

  private static Client buildClient(EtcdOptions o) {
    ClientBuilder b = Client.builder()
        .endpoints(o.endpoints().toArray(new String[0]))
        .connectTimeout(o.connectTimeout());
    if (o.user() != null) {
      b.user(bytes(o.user())).password(bytes(o.password()));
    }
    if (o.trustedCa() != null || o.clientCertificate() != null) {
      try {
        b.sslContext(ssl -> {
          if (o.trustedCa() != null) {
            ssl.trustManager(o.trustedCa().toFile());
          }
          if (o.clientCertificate() != null) {
            ssl.keyManager(o.clientCertificate().toFile(), o.clientKey().toFile());
          }
        });
      } catch (javax.net.ssl.SSLException | RuntimeException e) {
        throw new TorusException(ErrorCode.EINVAL, "bad etcd TLS settings: " + e, e);
      }
    }
    return b.build();
  }

  EtcdOptions options() {
    return options;
  }

  EtcdLayout layout() {
    return layout;
  }

  /** The client, for the lease and watch services. */
  Client client() {
    return client;
  }

  /** A new transaction; commit it through {@link #await}. */
  Txn txn() {
    return kv.txn();
  }

  /** The value under {@code key}, or null. */
  KeyValue get(String key, String what) {
    return first(read(key, what));
  }

  /** The value under {@code key} (if any) with the revision of the read. */
  GetResponse read(String key, String what) {
    return await(kv.get(bytes(key)), what);
  }

  /** Keys a prefix read asks etcd for at a time. */
  static final int PAGE = 1000;

  /** The keys under a prefix in key order, and the revision they were read at. */
  record Listing(List<KeyValue> kvs, long revision) {}

  /**
   * Every key under {@code prefix}, in key order, read in pages of {@link #PAGE} keys, every
   * page at the revision of the first: one consistent picture however many keys there are,
   * and no response larger than a page (10 000 volumes would otherwise be one response of
   * megabytes). Fails with EIO (retryable) if that revision is compacted between two pages.
   */
  Listing getPrefix(String prefix, String what) {
    ByteSequence end = OptionsUtil.prefixEndOf(bytes(prefix));
    List<KeyValue> out = new ArrayList<>();
    ByteSequence from = bytes(prefix);
    long revision = 0;
    while (true) {
      GetOption.Builder o = GetOption.builder().withRange(end).withLimit(PAGE);
      if (revision != 0) {
        o.withRevision(revision);
      }
      GetResponse r = await(kv.get(from, o.build()), what);
      if (revision == 0) {
        revision = r.getHeader().getRevision();
      }
      out.addAll(r.getKvs());
      if (!r.isMore() || r.getKvs().isEmpty()) {
        return new Listing(List.copyOf(out), revision);
      }
      from = r.getKvs().get(r.getKvs().size() - 1).getKey()
          .concat(ByteSequence.from(new byte[] {0}));
    }
  }

  /**
   * The reads of a {@link NamePager} through this client, each bounded like every call here;
   * {@code what} names the listing in errors.
   */
  NamePager.Source pages(String what) {
    return new NamePager.Source() {
      @Override
      public NamePager.Range range(String from, String end, int limit, long revision) {
        GetOption.Builder o = GetOption.builder().withRange(bytes(end)).withLimit(limit);
        if (revision != 0) {
          o.withRevision(revision);
        }
        GetResponse r = await(kv.get(bytes(from), o.build()), what);
        return new NamePager.Range(entries(r.getKvs()), r.isMore(),
            r.getHeader().getRevision());
      }

      @Override
      public List<List<NamePager.Entry>> prefixes(List<String> prefixes, long revision) {
        List<List<NamePager.Entry>> out = new ArrayList<>(prefixes.size());
        for (GetResponse r : getAll(prefixes, true, revision, what)) {
          out.add(entries(r.getKvs()));
        }
        return out;
      }
    };
  }

  private static List<NamePager.Entry> entries(List<KeyValue> kvs) {
    List<NamePager.Entry> out = new ArrayList<>(kvs.size());
    for (KeyValue e : kvs) {
      out.add(new NamePager.Entry(key(e), str(e)));
    }
    return out;
  }

  /**
   * Reads every one of {@code keys} (with {@code prefix}: every key under each) at
   * {@code revision}, in read-only transactions of {@link NamePager#OPS_PER_TXN} reads sent
   * together; the answers in the order of {@code keys}.
   */
  List<GetResponse> getAll(List<String> keys, boolean prefix, long revision, String what) {
    GetOption.Builder o = GetOption.builder().isPrefix(prefix);
    if (revision != 0) {
      o.withRevision(revision);
    }
    GetOption option = o.build();
    List<CompletableFuture<io.etcd.jetcd.kv.TxnResponse>> sent = new ArrayList<>();
    for (int i = 0; i < keys.size(); i += NamePager.OPS_PER_TXN) {
      List<String> chunk = keys.subList(i, Math.min(keys.size(), i + NamePager.OPS_PER_TXN));
      Op[] ops = chunk.stream().map(k -> Op.get(bytes(k), option)).toArray(Op[]::new);
      sent.add(kv.txn().Then(ops).commit());
    }
    List<GetResponse> out = new ArrayList<>(keys.size());
    for (CompletableFuture<io.etcd.jetcd.kv.TxnResponse> f : sent) {
      out.addAll(await(f, what).getGetResponses());
    }
    return out;
  }

  /** Every key under {@code prefix}, oldest (smallest create revision) first. */
  GetResponse getPrefixByCreation(String prefix, String what) {
    return await(kv.get(bytes(prefix), GetOption.builder().isPrefix(true)
        .withSortField(GetOption.SortTarget.CREATE).withSortOrder(GetOption.SortOrder.ASCEND)
        .build()), what);
  }

  /** Puts {@code value} under {@code key}, unconditionally. */
  void put(String key, String value, String what) {
    await(kv.put(bytes(key), bytes(value)), what);
  }

  /** Deletes {@code key}; whether it existed. */
  boolean delete(String key, String what) {
    return await(kv.delete(bytes(key)), what).getDeleted() > 0;
  }

  /**
   * Bounds every etcd call from now on, those already waiting included, by {@code budget}
   * from now: a node that shuts down while etcd is unreachable stops within it instead of
   * waiting a request timeout per clean-up step. Calls past it fail as unreachable.
   */
  void shutdownWithin(Duration budget) {
    shutdownDeadline = System.nanoTime() + budget.toNanos();
  }

  /** The request timeout, or what is left of the shutdown budget if that is less. */
  Duration remainingBudget() {
    long deadline = shutdownDeadline;
    if (deadline == Long.MAX_VALUE) {
      return options.requestTimeout();
    }
    long left = deadline - System.nanoTime();
    return Duration.ofNanos(Math.max(0, Math.min(left, options.requestTimeout().toNanos())));
  }

  /** Waits for an etcd call for at most the request timeout (or the shutdown budget). */
  <T> T await(CompletableFuture<T> f, String what) {
    long end = System.nanoTime() + options.requestTimeout().toNanos();
    try {
      while (true) {
        long now = System.nanoTime();
        long stop = Math.min(end, shutdownDeadline);
        if (now - stop >= 0) {
          throw new TimeoutException();
        }
        try {
          return f.get(Math.min(stop - now, DEADLINE_POLL_NANOS), TimeUnit.NANOSECONDS);
        } catch (TimeoutException again) {
          // look at the deadlines again
        }
      }
    } catch (TimeoutException e) {
      f.cancel(true);
      throw unreachable(what);
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      throw new TorusException(ErrorCode.EIO, "etcd " + options.endpoints() + " failed "
          + what + ": " + c, c, true);
    } catch (InterruptedException e) {
      f.cancel(true);
      Thread.currentThread().interrupt();
      throw new TorusException(ErrorCode.EIO, "interrupted while " + what, e);
    }
  }

  /** The error of an etcd that did not answer in time (EIO, retryable). */
  TorusException unreachable(String what) {
    String tls = options.trustedCa() == null && options.clientCertificate() == null ? ""
        : " (over TLS: a certificate etcd or this node does not accept looks like this too;"
        + " check the CA, certificate and key files)";
    String within = System.nanoTime() - shutdownDeadline >= 0 ? "the shutdown budget"
        : options.requestTimeout().toString();
    return new TorusException(ErrorCode.EIO, "etcd " + options.endpoints()
        + " did not answer within " + within + " while " + what + tls, null, true);
  }

  /** The error of a compare-and-swap loop that lost every race (EIO, retryable). */
  static TorusException contention(String what, int attempts) {
    return new TorusException(ErrorCode.EIO, "gave up " + what + " after " + attempts
        + " lost compare-and-swap races", null, true);
  }

  /** From now on {@link #checkOpen} throws; the client stays usable until {@link #close}. */
  void markClosed() {
    closed = true;
  }

  /** Whether {@link #markClosed} or {@link #close} ran. */
  boolean isClosed() {
    return closed;
  }

  /** Throws {@link TorusClosedException} once the service is closed. */
  void checkOpen() {
    if (closed) {
      throw new TorusClosedException(name + " is closed");
    }
  }

  /** Closes the client; calls still waiting fail. */
  @Override
  public void close() {
    closed = true;
    client.close();
  }

  @Override
  public String toString() {
    return name;
  }

  // ---- building blocks ----

  /** The first key of {@code r}, or null. */
  static KeyValue first(GetResponse r) {
    List<KeyValue> kvs = r.getKvs();
    return kvs.isEmpty() ? null : kvs.get(0);
  }

  /** Holds if {@code key} does not exist. */
  static Cmp absent(String key) {
    return createRevision(key, 0);
  }

  /** Holds if {@code key} exists. */
  static Cmp present(String key) {
    return new Cmp(bytes(key), Cmp.Op.GREATER, CmpTarget.createRevision(0));
  }

  /** Holds if {@code key} was created at revision {@code rev} (0: does not exist). */
  static Cmp createRevision(String key, long rev) {
    return new Cmp(bytes(key), Cmp.Op.EQUAL, CmpTarget.createRevision(rev));
  }

  /** Holds if {@code key} was last changed at revision {@code rev}. */
  static Cmp modRevision(String key, long rev) {
    return new Cmp(bytes(key), Cmp.Op.EQUAL, CmpTarget.modRevision(rev));
  }

  /** Holds if {@code key} has never been written (version 0). */
  static Cmp neverWritten(String key) {
    return new Cmp(bytes(key), Cmp.Op.EQUAL, CmpTarget.version(0));
  }

  static Op put(String key, String value) {
    return Op.put(bytes(key), bytes(value), PutOption.DEFAULT);
  }

  /** Puts {@code value} under {@code key}, attached to {@code lease}. */
  static Op putUnder(String key, String value, long lease) {
    return Op.put(bytes(key), bytes(value), PutOption.builder().withLeaseId(lease).build());
  }

  static Op getOp(String key) {
    return Op.get(bytes(key), GetOption.DEFAULT);
  }

  static Op deleteOp(String key) {
    return Op.delete(bytes(key), DeleteOption.DEFAULT);
  }

  /** Deletes {@code key}, answering its previous value. */
  static Op deleteWithPrevious(String key) {
    return Op.delete(bytes(key), DeleteOption.builder().withPrevKV(true).build());
  }

  static Op deletePrefixOp(String prefix) {
    return Op.delete(bytes(prefix), DeleteOption.builder().isPrefix(true).build());
  }

  static ByteSequence bytes(String s) {
    return ByteSequence.from(s, StandardCharsets.UTF_8);
  }

  static String str(ByteSequence b) {
    return b.toString(StandardCharsets.UTF_8);
  }

  /** The value of {@code kv}. */
  static String str(KeyValue kv) {
    return str(kv.getValue());
  }

  /** The key of {@code kv}. */
  static String key(KeyValue kv) {
    return str(kv.getKey());
  }
}
