package io.torus.internal.meta.etcd;

import static io.torus.internal.meta.etcd.EtcdKv.absent;
import static io.torus.internal.meta.etcd.EtcdKv.contention;
import static io.torus.internal.meta.etcd.EtcdKv.modRevision;
import static io.torus.internal.meta.etcd.EtcdKv.put;
import static io.torus.internal.meta.etcd.EtcdKv.str;

import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.TxnResponse;
import io.torus.ClusterAdmin.Defaults;
import io.torus.Erasure;
import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.internal.meta.ClusterDefaultsStore;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The cluster's defaults record in etcd, written by {@code torus init}.
 *
 * <pre>
 * +---------------------------+----------------------------------------------------------+
 * | key (under ROOT/v1/)      | value (UTF-8 text)                                       |
 * +---------------------------+----------------------------------------------------------+
 * | cluster/defaults          | v1 replication=N block-size=N [erasure=K+M]              |
 * |                           |    [overcommit=R]                                        |
 * |                           |    initialized=ISO-8601-INSTANT updated=ISO-8601-INSTANT |
 * +---------------------------+----------------------------------------------------------+
 * </pre>
 *
 * <p>{@code erasure=K+M}: the erasure-coding policy of new volumes created without a
 * replication or policy of their own (e.g. {@code erasure=4+2}); absent, as in every record
 * written before the field existed: new volumes are replicated.
 *
 * <p>{@code overcommit=R}: the overcommit ratio of the cluster's capacity guard, a decimal
 * number without exponent, trailing zeros or leading zeros (e.g. {@code 2}, {@code 1.5},
 * {@code 0} for no check, {@code 0.25}); absent, as in every record written before the field
 * existed and whenever it is the default: {@value Defaults#DEFAULT_OVERCOMMIT_RATIO}.
 *
 * <p>Created only if absent (a transaction comparing the key's create revision with 0),
 * replaced by compare-and-swap on its mod revision. Parsing is strict: a value that does not
 * match is an {@link ErrorCode#EIO} error naming the key. Thread-safe.
 */
final class EtcdClusterDefaults implements ClusterDefaultsStore {
  private static final Pattern VALUE = Pattern.compile("v1 replication=(\\d{1,3})"
      + " block-size=(\\d{1,10})" + EtcdErasureField.PATTERN
      + "(?: overcommit=(0|[1-9]\\d{0,3}(?:\\.\\d{1,6})?|0\\.\\d{1,6}))?"
      + " initialized=(\\S+) updated=(\\S+)");
  private static final int MAX_CAS_ATTEMPTS = 16;

  private final EtcdKv kv;
  private final String key;

  /** The defaults record of the cluster {@code kv} is connected to. */
  EtcdClusterDefaults(EtcdKv kv) {
    this.kv = kv;
    this.key = kv.layout().clusterDefaultsKey();
  }

  /** The stored defaults, or empty if the cluster was never initialised. */
  @Override
  public Optional<Defaults> read() {
    return readKv().map(e -> decode(key, str(e)));
  }

  private Optional<KeyValue> readKv() {
    kv.checkOpen();
    return Optional.ofNullable(kv.get(key, "reading the cluster defaults"));
  }

  /**
   * Stores new defaults. Without {@code force}, refused (EPERM) if defaults exist; with it,
   * they are replaced (their {@code initialized} time too).
   */
  @Override
  public Defaults initialize(int replication, int blockSize, Erasure erasure,
      double overcommitRatio, boolean force) {
    Instant now = Instant.now();
    Defaults d = new Defaults(replication, blockSize, now, now, erasure, overcommitRatio);
    kv.checkOpen();
    TxnResponse r = kv.await(force ? kv.txn().Then(put(key, encode(d))).commit()
        : kv.txn().If(absent(key)).Then(put(key, encode(d))).commit(),
        "initialising the cluster");
    if (!r.isSucceeded()) {
      throw new TorusException(ErrorCode.EPERM, "the cluster at " + kv.layout().base()
          + " is already initialised (" + read().map(EtcdClusterDefaults::describe)
          .orElse("record just removed") + "); use force to replace its defaults");
    }
    return d;
  }

  /** Replaces the replication of the stored defaults; refused (EINVAL) if there are none. */
  @Override
  public Defaults setReplication(int replication) {
    for (int attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      KeyValue e = readKv().orElseThrow(() -> TorusException.invalid("the cluster at "
          + kv.layout().base() + " is not initialised; run 'torus init' first"));
      Defaults old = decode(key, str(e));
      Defaults next = new Defaults(replication, old.blockSize(), old.initialized(),
          Instant.now(), old.erasure(), old.overcommitRatio());
      TxnResponse r = kv.await(kv.txn()
          .If(modRevision(key, e.getModRevision()))
          .Then(put(key, encode(next))).commit(), "setting the cluster's replication");
      if (r.isSucceeded()) {
        return next;
      }
    }
    throw contention("setting the replication", MAX_CAS_ATTEMPTS);
  }

  /** The stored form of {@code d}. */
  static String encode(Defaults d) {
    return "v1 replication=" + d.replication() + " block-size=" + d.blockSize()
        + EtcdErasureField.encode(d.erasure()) + overcommit(d.overcommitRatio())
        + " initialized=" + d.initialized() + " updated=" + d.updated();
  }

  /** The overcommit field with a leading space, "" for the default ratio. */
  private static String overcommit(double ratio) {
    if (ratio == Defaults.DEFAULT_OVERCOMMIT_RATIO) {
      return "";
    }
    java.math.BigDecimal r = new java.math.BigDecimal(Double.toString(ratio))
        .setScale(6, java.math.RoundingMode.HALF_EVEN).stripTrailingZeros();
    return " overcommit=" + (r.signum() == 0 ? "0" : r.toPlainString());
  }

  /** Parses a stored value; EIO naming {@code key} if it does not match the format. */
  static Defaults decode(String key, String value) {
    Matcher m = VALUE.matcher(value);
    if (!m.matches()) {
      throw EtcdLayout.corrupt(key, value, "not a cluster defaults record");
    }
    try {
      return new Defaults(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)),
          Instant.parse(m.group(6)), Instant.parse(m.group(7)),
          EtcdErasureField.decode(m, 3), m.group(5) == null
              ? Defaults.DEFAULT_OVERCOMMIT_RATIO : Double.parseDouble(m.group(5)));
    } catch (NumberFormatException | DateTimeParseException e) {
      throw EtcdLayout.corrupt(key, value, e.getMessage());
    } catch (TorusException e) {
      throw EtcdLayout.corrupt(key, value, e.getMessage());
    }
  }

  private static String describe(Defaults d) {
    return "replication " + d.replication() + ", block size " + d.blockSize()
        + (d.erasure() == null ? "" : ", erasure " + d.erasure())
        + ", overcommit " + d.overcommitRatio() + ", initialised " + d.initialized();
  }
}
