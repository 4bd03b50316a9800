package io.torus.internal.meta.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.torus.ClusterAdmin.Defaults;
import io.torus.Erasure;
import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.testing.etcd.EtcdCluster;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The cluster defaults record against a real etcd: create once, force, CAS update, damage. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class EtcdClusterDefaultsIT {
  @RegisterExtension
  static final EtcdCluster ETCD = EtcdCluster.builder().members(1).build();

  private final String prefix = "/it/defaults" + System.nanoTime();
  private final EtcdMetadataService meta = EtcdMetadataService.builder()
      .endpoints(ETCD.endpoints()).rootPrefix(prefix).requestTimeout(Duration.ofSeconds(3))
      .build();

  @AfterEach
  void close() {
    meta.close();
  }

  @Test
  void initialisedOnceThenOnlyWithForce() {
    EtcdClusterDefaults d = new EtcdClusterDefaults(meta.kv());
    assertThat(d.read()).isEmpty();
    Defaults first = d.initialize(3, 128 * 1024, false);
    assertThat(d.read()).contains(first);
    assertThatThrownBy(() -> d.initialize(2, 65536, false)).isInstanceOf(TorusException.class)
        .hasMessageContaining("already initialised")
        .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.EPERM));
    assertThat(d.read().orElseThrow().replication()).isEqualTo(3);
    Defaults forced = d.initialize(2, 65536, true);
    assertThat(d.read()).contains(forced);
  }

  @Test
  void setReplicationKeepsTheRestAndNeedsAnInitialisedCluster() {
    EtcdClusterDefaults d = new EtcdClusterDefaults(meta.kv());
    assertThatThrownBy(() -> d.setReplication(2)).hasMessageContaining("not initialised");
    Defaults first = d.initialize(2, 65536, false);
    Defaults next = d.setReplication(3);
    assertThat(next.replication()).isEqualTo(3);
    assertThat(next.blockSize()).isEqualTo(first.blockSize());
    assertThat(next.initialized()).isEqualTo(first.initialized());
    assertThat(new EtcdClusterDefaults(meta.kv()).read()).contains(next);
    assertThatThrownBy(() -> d.setReplication(17)).isInstanceOf(TorusException.class);
  }

  @Test
  void aDamagedRecordIsAnErrorNamingTheKey() throws Exception {
    String key = prefix + "/v1/cluster/defaults";
    try (Client raw = Client.builder().endpoints(ETCD.endpoints().toArray(new String[0]))
        .build()) {
      raw.getKVClient().put(ByteSequence.from(key, StandardCharsets.UTF_8),
          ByteSequence.from("v1 replication=x", StandardCharsets.UTF_8)).get();
    }
    assertThatThrownBy(() -> new EtcdClusterDefaults(meta.kv()).read())
        .isInstanceOf(TorusException.class).hasMessageContaining(key)
        .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.EIO));
  }

  @Test
  void storedFormIsTheDocumentedOne() {
    Defaults d = new Defaults(2, 65536, java.time.Instant.parse("2026-01-02T03:04:05Z"),
        java.time.Instant.parse("2026-01-02T03:04:06Z"));
    String v = EtcdClusterDefaults.encode(d);
    assertThat(v).isEqualTo("v1 replication=2 block-size=65536 initialized=2026-01-02T03:04:05Z"
        + " updated=2026-01-02T03:04:06Z");
    assertThat(EtcdClusterDefaults.decode("k", v)).isEqualTo(d);
    assertThat(d.erasure()).isNull();

    Defaults coded = new Defaults(2, 65536, d.initialized(), d.updated(), new Erasure(4, 2));
    String cv = EtcdClusterDefaults.encode(coded);
    assertThat(cv).isEqualTo("v1 replication=2 block-size=65536 erasure=4+2"
        + " initialized=2026-01-02T03:04:05Z updated=2026-01-02T03:04:06Z");
    assertThat(EtcdClusterDefaults.decode("k", cv)).isEqualTo(coded);
    for (String bad : new String[] {"erasure=0+2", "erasure=17+2", "erasure=4+9", "erasure=4",
        "erasure=4+2+1"}) {
      assertThatThrownBy(() -> EtcdClusterDefaults.decode("/d", cv.replace("erasure=4+2", bad)))
          .as(bad).isInstanceOf(TorusException.class).hasMessageContaining("/d")
          .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.EIO));
    }
  }

  @Test
  void theOvercommitRatioIsStoredUnlessItIsTheDefaultAndKeptBySetReplication() {
    Defaults d = new Defaults(2, 65536, java.time.Instant.parse("2026-01-02T03:04:05Z"),
        java.time.Instant.parse("2026-01-02T03:04:06Z"), new Erasure(4, 2), 1.5);
    String v = EtcdClusterDefaults.encode(d);
    assertThat(v).isEqualTo("v1 replication=2 block-size=65536 erasure=4+2 overcommit=1.5"
        + " initialized=2026-01-02T03:04:05Z updated=2026-01-02T03:04:06Z");
    assertThat(EtcdClusterDefaults.decode("k", v)).isEqualTo(d);
    for (double r : new double[] {0, 0.25, 2, 1000, 12.125}) {
      Defaults x = new Defaults(2, 65536, d.initialized(), d.updated(), null, r);
      assertThat(EtcdClusterDefaults.decode("k", EtcdClusterDefaults.encode(x))).as("%s", r)
          .isEqualTo(x);
    }
    assertThat(EtcdClusterDefaults.encode(new Defaults(2, 65536, d.initialized(), d.updated(),
        null, 0))).contains(" overcommit=0 ");
    assertThat(EtcdClusterDefaults.encode(new Defaults(2, 65536, d.initialized(), d.updated(),
        null, 4))).doesNotContain("overcommit");
    for (String bad : new String[] {"overcommit=-1", "overcommit=1e3", "overcommit=01",
        "overcommit=1001", "overcommit=0.001", "overcommit=.5", "overcommit="}) {
      assertThatThrownBy(() -> EtcdClusterDefaults.decode("/d", v.replace("overcommit=1.5",
          bad))).as(bad).isInstanceOf(TorusException.class).hasMessageContaining("/d")
          .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.EIO));
    }

    EtcdClusterDefaults store = new EtcdClusterDefaults(meta.kv());
    Defaults first = store.initialize(2, 65536, null, 2.5, false);
    assertThat(store.read()).contains(first);
    assertThat(store.setReplication(3).overcommitRatio()).isEqualTo(2.5);
    assertThat(store.read().orElseThrow().overcommitRatio()).isEqualTo(2.5);
    assertThat(store.initialize(2, 65536, true).overcommitRatio()).isEqualTo(4.0);
  }

  @Test
  void theErasurePolicyIsStoredAndKeptBySetReplication() {
    EtcdClusterDefaults d = new EtcdClusterDefaults(meta.kv());
    Defaults first = d.initialize(2, 65536, new Erasure(4, 2), false);
    assertThat(first.erasure()).isEqualTo(new Erasure(4, 2));
    assertThat(d.read()).contains(first);
    Defaults next = d.setReplication(3);
    assertThat(next.erasure()).isEqualTo(new Erasure(4, 2));
    assertThat(new EtcdClusterDefaults(meta.kv()).read()).contains(next);
    Defaults plain = d.initialize(2, 65536, null, true);
    assertThat(new EtcdClusterDefaults(meta.kv()).read().orElseThrow().erasure()).isNull();
    assertThat(plain.erasure()).isNull();
  }
}
