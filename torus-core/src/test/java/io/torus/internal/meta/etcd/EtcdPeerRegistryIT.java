package io.torus.internal.meta.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.internal.meta.Eventually;
import io.torus.internal.meta.PeerInfo;
import io.torus.internal.meta.PeerStatus;
import io.torus.testing.etcd.EtcdCluster;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Peer registration against a real etcd: up, down, refresh, removal, lease loss. */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class EtcdPeerRegistryIT {
  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final Instant T0 = Instant.parse("2026-03-01T10:00:00Z");

  @RegisterExtension
  final EtcdCluster etcd = EtcdCluster.builder().members(1).build();

  private final List<AutoCloseable> open = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  private EtcdMetadataService node() {
    EtcdMetadataService m = EtcdMetadataService.builder().endpoints(etcd.endpoints())
        .rootPrefix("/peers").leaseTtl(Duration.ofSeconds(5))
        .requestTimeout(Duration.ofSeconds(2)).build();
    open.add(m);
    return m;
  }

  private Client client() {
    Client c = Client.builder().endpoints(etcd.endpoints().toArray(new String[0])).build();
    open.add(c);
    return c;
  }

  @Test
  void peersAreUpWhileRegisteredAndDownWithTheirLastValuesAfterwards() throws Exception {
    EtcdMetadataService a = node();
    EtcdMetadataService b = node();
    PeerInfo infoA = new PeerInfo("node-a", "10.0.0.1:7000", 1000, 10, 1, T0);
    PeerInfo infoB = new PeerInfo("node-b", "[::1]:7001", 2000, 20, 1, T0.plusSeconds(1));
    a.peers().register(infoA);
    b.peers().register(infoB);
    assertThat(a.peers().peers()).containsExactly(new PeerStatus(infoA, true),
        new PeerStatus(infoB, true));

    PeerInfo refreshed = b.peers().refresh(2500, 700);
    assertThat(refreshed).isEqualTo(new PeerInfo("node-b", "[::1]:7001", 2500, 700, 1,
        infoB.started()));
    assertThat(a.peers().peer("node-b")).contains(new PeerStatus(refreshed, true));

    Client c = client();
    String member = get(c, "/peers/v1/peers/node-b/member");
    String alive = get(c, "/peers/v1/peers/node-b/alive");
    assertThat(member).isEqualTo("v1 node=node-b address=[::1]:7001 capacity=2500 used=700"
        + " protocol=1 started=2026-03-01T10:00:01Z");
    assertThat(alive).isEqualTo(member + " lease=" + EtcdLayout.hex(b.leaseId()));

    b.close();
    assertThat(a.peers().peers()).containsExactly(new PeerStatus(infoA, true),
        new PeerStatus(refreshed, false));
    assertThatThrownBy(() -> b.peers()).isInstanceOf(TorusException.class);

    assertThatThrownBy(() -> a.peers().remove("node-a")).isInstanceOf(TorusException.class)
        .hasMessageContaining("node-a").hasMessageContaining("is up")
        .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.EPERM));
    assertThat(a.peers().remove("node-b")).isTrue();
    assertThat(a.peers().remove("node-b")).isFalse();
    assertThat(a.peers().peers()).containsExactly(new PeerStatus(infoA, true));
    assertThat(a.peers().peer("node-b")).isEmpty();
  }

  @Test
  void refreshBeforeRegisterAndBadValuesAreRefused() {
    EtcdMetadataService a = node();
    assertThatThrownBy(() -> a.peers().refresh(1, 1)).isInstanceOf(TorusException.class)
        .hasMessageContaining("not registered");
    a.peers().register(new PeerInfo("n", "h:1", 1, 0, 1, T0));
    assertThatThrownBy(() -> a.peers().refresh(-1, 0)).isInstanceOf(TorusException.class)
        .hasMessageContaining("-1");
    assertThatThrownBy(() -> a.peers().peer("a/b")).isInstanceOf(TorusException.class)
        .hasMessageContaining("bad node id");
  }

  @Test
  void aPeerWhoseLeaseEndsIsDownThenRegistersAgainUnderItsNewLease() throws Exception {
    EtcdMetadataService a = node();
    EtcdMetadataService b = node();
    PeerInfo infoA = new PeerInfo("node-a", "127.0.0.1:7000", 1000, 10, 2, T0);
    a.peers().register(infoA);
    a.peers().refresh(1000, 11);
    long oldLease = a.leaseId();

    client().getLeaseClient().revoke(oldLease).get(10, TimeUnit.SECONDS);
    assertThat(b.peers().peer("node-a")).hasValueSatisfying(p -> assertThat(p.up()).isFalse());
    Eventually.until(WAIT, "node-a registered again", () -> b.peers().peer("node-a")
        .map(PeerStatus::up).orElse(false));
    assertThat(a.leaseId()).isNotEqualTo(oldLease);
    assertThat(b.peers().peer("node-a").orElseThrow().info())
        .isEqualTo(infoA.withUsage(1000, 11));
  }

  @Test
  void aDamagedPeerRecordNamesItsKey() throws Exception {
    EtcdMetadataService a = node();
    a.peers().register(new PeerInfo("node-a", "h:1", 1, 0, 1, T0));
    Client c = client();
    c.getKVClient().put(bs("/peers/v1/peers/node-z/member"), bs("v1 node=node-z broken"))
        .get(10, TimeUnit.SECONDS);
    assertThatThrownBy(() -> a.peers().peers()).isInstanceOf(TorusException.class)
        .hasMessageContaining("'/peers/v1/peers/node-z/member'");
    assertThat(get(c, "/peers/v1/peers/node-z/member")).isEqualTo("v1 node=node-z broken");
  }

  private static String get(Client c, String key) throws Exception {
    return c.getKVClient().get(bs(key)).get(10, TimeUnit.SECONDS).getKvs().get(0).getValue()
        .toString(StandardCharsets.UTF_8);
  }

  private static ByteSequence bs(String s) {
    return ByteSequence.from(s, StandardCharsets.UTF_8);
  }
}
