package io.torus.internal.meta.etcd;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.Client;
import io.torus.internal.meta.Eventually;
import io.torus.internal.meta.LeaderElection;
import io.torus.testing.etcd.EtcdCluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Leader election against a real etcd: one leader, take-over on close and on lease loss. */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class EtcdLeaderElectionIT {
  private static final Duration WAIT = Duration.ofSeconds(20);

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
        .rootPrefix("/elect").leaseTtl(Duration.ofSeconds(5))
        .requestTimeout(Duration.ofSeconds(2)).build();
    open.add(m);
    return m;
  }

  /** A candidate whose listener records "+TERM" and "-TERM". */
  private record Candidate(LeaderElection election, List<String> events) {}

  private static Candidate candidate(EtcdMetadataService node, String election, String id) {
    LeaderElection e = node.election(election, id);
    List<String> events = new CopyOnWriteArrayList<>();
    e.addListener(new LeaderElection.LeadershipListener() {
      @Override
      public void leadershipGained(long term) {
        events.add("+" + term);
      }

      @Override
      public void leadershipLost(long term, String reason) {
        events.add("-" + term);
      }
    });
    e.campaign();
    return new Candidate(e, events);
  }

  @Test
  void oneOfTwoLeadsAndTheOtherTakesOverWhenTheLeaderCloses() {
    EtcdMetadataService n1 = node();
    EtcdMetadataService n2 = node();
    Candidate a = candidate(n1, "gc", "node-a");
    Eventually.until(WAIT, "a leads", () -> a.election().isLeader());
    Candidate b = candidate(n2, "gc", "node-b");
    // An election of another name is independent, and "gc2" is not a prefix match of "gc".
    Candidate other = candidate(n2, "gc2", "node-b");
    Eventually.until(WAIT, "b leads gc2", () -> other.election().isLeader());

    long termA = a.election().leader().orElseThrow().term();
    assertThat(b.election().leader()).contains(new LeaderElection.Leader("node-a", termA));
    assertThat(b.election().isLeader()).isFalse();
    assertThat(a.events()).containsExactly("+" + termA);

    n1.close();
    Eventually.until(WAIT, "b takes over", () -> b.election().isLeader());
    long termB = b.election().leader().orElseThrow().term();
    assertThat(termB).isGreaterThan(termA);
    assertThat(b.events()).containsExactly("+" + termB);
    assertThat(a.events()).containsExactly("+" + termA, "-" + termA);
    assertThat(other.election().isLeader()).isTrue();
  }

  @Test
  void losingTheLeaseLosesLeadershipAtOnceAndTheCandidateRejoins() throws Exception {
    EtcdMetadataService n1 = node();
    EtcdMetadataService n2 = node();
    Candidate a = candidate(n1, "rebalance", "node-a");
    Eventually.until(WAIT, "a leads", () -> a.election().isLeader());
    Candidate b = candidate(n2, "rebalance", "node-b");
    long termA = a.election().leader().orElseThrow().term();

    try (Client c = Client.builder().endpoints(etcd.endpoints().toArray(new String[0]))
        .build()) {
      c.getLeaseClient().revoke(n1.leaseId()).get(10, TimeUnit.SECONDS);
    }
    Eventually.until(WAIT, "a lost leadership", () -> a.events().contains("-" + termA));
    Eventually.until(WAIT, "b leads", () -> b.election().isLeader());
    assertThat(a.election().isLeader()).isFalse();
    // a campaigns again under its new lease and is next in line.
    Eventually.until(WAIT, "a rejoined", () -> candidateCount(n2, "rebalance") == 2);

    b.election().resign();
    assertThat(b.election().isLeader()).isFalse();
    Eventually.until(WAIT, "a leads again", () -> a.election().isLeader());
    long termA2 = a.election().leader().orElseThrow().term();
    assertThat(termA2).isGreaterThan(termA);
    assertThat(a.events()).containsExactly("+" + termA, "-" + termA, "+" + termA2);
  }

  /**
   * Candidates joining learn of one another from the watch's events: N joins cost each
   * watcher N events and etcd a few reads per candidate, not N reads per candidate (which
   * kept hundreds of peers reading etcd for minutes after they started). One leader, and the
   * rest take over in order of joining.
   */
  @Test
  void joiningCandidatesReadTheCandidatesAFewTimesEachNotOncePerJoin() throws Exception {
    int n = 16;
    List<EtcdMetadataService> nodes = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      nodes.add(node());
    }
    long before = rangeRequests();
    List<Candidate> all = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      all.add(candidate(nodes.get(i), "ring", "node-" + i));
    }
    Eventually.until(WAIT, "every candidate joined",
        () -> candidateCount(nodes.get(0), "ring") == n);
    Eventually.until(WAIT, "one leads", () -> all.stream()
        .filter(c -> c.election().isLeader()).count() == 1);
    Thread.sleep(1000); // the last events reach every watcher
    long reads = rangeRequests() - before - 2; // candidateCount's reads
    assertThat(all.get(0).election().isLeader()).isTrue();
    assertThat(all.stream().filter(c -> c.election().isLeader())).hasSize(1);
    // each candidate reads at its watch's start and after its join: 2n; a read per event
    // would be n * n / 2 or more
    assertThat(reads).as("Range requests for %d joins", n).isLessThanOrEqualTo(4L * n);
    nodes.get(0).close();
    Eventually.until(WAIT, "the second to join takes over",
        () -> all.get(1).election().isLeader());
  }

  /** Range requests etcd has answered so far (its Prometheus metrics). */
  private long rangeRequests() throws Exception {
    java.net.http.HttpResponse<String> r = java.net.http.HttpClient.newHttpClient().send(
        java.net.http.HttpRequest.newBuilder(java.net.URI.create(etcd.endpoint(0) + "/metrics"))
            .timeout(Duration.ofSeconds(10)).build(),
        java.net.http.HttpResponse.BodyHandlers.ofString());
    long sum = 0;
    for (String line : r.body().split("\n")) {
      if (line.startsWith("grpc_server_handled_total{") && line.contains("grpc_method=\"Range\"")) {
        sum += (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return sum;
  }

  private static long candidateCount(EtcdMetadataService node, String election) {
    EtcdKv kv = node.kv();
    return kv.getPrefix(kv.layout().electionPrefix(election), "counting candidates").kvs().size();
  }
}
