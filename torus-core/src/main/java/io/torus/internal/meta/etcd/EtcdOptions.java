package io.torus.internal.meta.etcd;

import io.torus.TorusException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/**
 * How to reach etcd and how to behave there. Built with {@link EtcdMetadataService#builder()}.
 * Public because the node (and tools that open etcd directly) configure it through
 * {@link Builder}.
 *
 * @param endpoints client URLs ({@code http://host:port} or {@code https://host:port}), not
 *     empty
 * @param rootPrefix every key lives under {@code <rootPrefix>/v1/}; default {@code /torus}
 * @param leaseTtl the node lease's time to live, whole seconds, at least 1 s; default 10 s
 * @param connectTimeout how long to wait for a connection; default 5 s
 * @param requestTimeout the longest any single etcd call may take; default 5 s
 * @param user the etcd user, or {@code null} without authentication
 * @param password the user's password, or {@code null}
 * @param trustedCa a PEM CA certificate to trust for TLS, or {@code null}
 * @param clientCertificate a PEM client certificate for mutual TLS, or {@code null}
 * @param clientKey the PKCS#8 PEM key of {@code clientCertificate}, or {@code null}
 * @param clock the clock that stamps volume creation times
 */
public record EtcdOptions(List<String> endpoints, String rootPrefix, Duration leaseTtl,
    Duration connectTimeout, Duration requestTimeout, String user, String password,
    Path trustedCa, Path clientCertificate, Path clientKey, Clock clock) {

  /** Default root prefix. */
  static final String DEFAULT_ROOT_PREFIX = "/torus";

  /** The options with the password left out (it must never reach a log). */
  @Override
  public String toString() {
    return "EtcdOptions[endpoints=" + endpoints + ", rootPrefix=" + rootPrefix + ", leaseTtl="
        + leaseTtl + ", connectTimeout=" + connectTimeout + ", requestTimeout="
        + requestTimeout + ", user=" + user + ", password=" + (password == null ? "none"
        : "(hidden)") + ", trustedCa=" + trustedCa + ", clientCertificate="
        + clientCertificate + ", clientKey=" + clientKey + "]";
  }
  /** Default lease TTL. */
  static final Duration DEFAULT_LEASE_TTL = Duration.ofSeconds(10);
  /** Default connect timeout. */
  static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(5);
  /** Default request timeout. */
  static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(5);

  /** Validates every option; throws {@link TorusException} (EINVAL) naming the bad one. */
  public EtcdOptions {
    endpoints = List.copyOf(endpoints);
    if (endpoints.isEmpty()) {
      throw TorusException.invalid("at least one etcd endpoint is needed");
    }
    for (String e : endpoints) {
      URI u;
      try {
        u = URI.create(e);
      } catch (IllegalArgumentException ex) {
        throw TorusException.invalid("bad etcd endpoint: " + e);
      }
      if (!("http".equals(u.getScheme()) || "https".equals(u.getScheme()))
          || u.getHost() == null || u.getPort() < 0) {
        throw TorusException.invalid("etcd endpoint must be http(s)://host:port: " + e);
      }
    }
    new EtcdLayout(rootPrefix);
    if (leaseTtl.isNegative() || leaseTtl.toMillis() < 1000 || leaseTtl.toNanos() % 1_000_000_000L
        != 0) {
      throw TorusException.invalid("lease TTL must be whole seconds, at least 1 s: " + leaseTtl);
    }
    positive("connect timeout", connectTimeout);
    positive("request timeout", requestTimeout);
    if ((user == null) != (password == null)) {
      throw TorusException.invalid("etcd user and password go together");
    }
    if ((clientCertificate == null) != (clientKey == null)) {
      throw TorusException.invalid("etcd client certificate and key go together");
    }
    if (trustedCa != null || clientCertificate != null) {
      for (String e : endpoints) {
        if (!e.startsWith("https://")) {
          throw TorusException.invalid("etcd TLS settings need https:// endpoints: " + e);
        }
      }
    }
    for (Path p : Arrays.asList(trustedCa, clientCertificate, clientKey)) {
      if (p != null && !Files.isReadable(p)) {
        throw TorusException.invalid("cannot read etcd TLS file: " + p);
      }
    }
    Objects.requireNonNull(clock, "clock");
  }

  private static void positive(String what, Duration d) {
    if (d == null || d.isNegative() || d.isZero()) {
      throw TorusException.invalid(what + " must be positive: " + d);
    }
  }

  /** Builds {@link EtcdOptions} and the service. Not thread-safe. */
  public static final class Builder {
    private final Function<EtcdOptions, EtcdMetadataService> factory;
    private final List<String> endpoints = new ArrayList<>();
    private String rootPrefix = DEFAULT_ROOT_PREFIX;
    private Duration leaseTtl = DEFAULT_LEASE_TTL;
    private Duration connectTimeout = DEFAULT_CONNECT_TIMEOUT;
    private Duration requestTimeout = DEFAULT_REQUEST_TIMEOUT;
    private String user;
    private String password;
    private Path trustedCa;
    private Path clientCertificate;
    private Path clientKey;
    private Clock clock = Clock.systemUTC();

    Builder(Function<EtcdOptions, EtcdMetadataService> factory) {
      this.factory = factory;
    }

    /** Adds client URLs, e.g. {@code http://127.0.0.1:2379}. */
    public Builder endpoints(String... urls) {
      return endpoints(Arrays.asList(urls));
    }

    /** Adds client URLs. */
    public Builder endpoints(List<String> urls) {
      endpoints.addAll(urls);
      return this;
    }

    /** The root prefix, e.g. {@code /torus} (default) or {@code /prod/torus}. */
    public Builder rootPrefix(String prefix) {
      this.rootPrefix = prefix;
      return this;
    }

    /** The node lease's TTL, whole seconds (default 10 s). */
    public Builder leaseTtl(Duration ttl) {
      this.leaseTtl = ttl;
      return this;
    }

    /** How long to wait for a connection (default 5 s). */
    public Builder connectTimeout(Duration timeout) {
      this.connectTimeout = timeout;
      return this;
    }

    /** The longest any etcd call may take (default 5 s). */
    public Builder requestTimeout(Duration timeout) {
      this.requestTimeout = timeout;
      return this;
    }

    /** etcd authentication. */
    public Builder credentials(String user, String password) {
      this.user = user;
      this.password = password;
      return this;
    }

    /** Trust this PEM CA certificate (use {@code https://} endpoints). */
    public Builder trustedCa(Path caCertificate) {
      this.trustedCa = caCertificate;
      return this;
    }

    /** Present this client certificate and PKCS#8 key (mutual TLS). */
    public Builder clientCertificate(Path certificate, Path key) {
      this.clientCertificate = certificate;
      this.clientKey = key;
      return this;
    }

    /** The clock that stamps volume creation times (default UTC system clock). */
    public Builder clock(Clock clock) {
      this.clock = clock;
      return this;
    }

    /** The options, validated. */
    EtcdOptions options() {
      return new EtcdOptions(endpoints, rootPrefix, leaseTtl, connectTimeout, requestTimeout,
          user, password, trustedCa, clientCertificate, clientKey, clock);
    }

    /**
     * Connects and grants the node's lease.
     *
     * @throws TorusException EINVAL for a bad option; EIO (retryable) if etcd does not answer
     *     within the request timeout
     */
    public EtcdMetadataService build() {
      return factory.apply(options());
    }
  }
}
