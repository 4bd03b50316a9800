package io.torus.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.TorusException;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The command tree in-process: help everywhere, one-line errors, argument parsing. */
class TorusCommandTest {
  private String out;
  private String err;

  private int run(String... args) {
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    ByteArrayOutputStream e = new ByteArrayOutputStream();
    System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
    System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
    try {
      return TorusCommand.run(args);
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
      out = o.toString(StandardCharsets.UTF_8);
      err = e.toString(StandardCharsets.UTF_8);
    }
  }

  @Test
  void everyCommandHasHelp() {
    List<List<String>> commands = List.of(List.of(), List.of("demo"), List.of("node"),
        List.of("init"), List.of("peer"), List.of("peer", "list"), List.of("peer", "remove"),
        List.of("volume"), List.of("volume", "create"), List.of("volume", "list"),
        List.of("volume", "info"), List.of("volume", "resize"), List.of("volume", "delete"),
        List.of("volume", "clone"), List.of("volume", "export"), List.of("volume", "import"),
        List.of("snapshot"), List.of("snapshot", "create"), List.of("snapshot", "list"),
        List.of("snapshot", "delete"), List.of("snapshot", "restore"), List.of("nbd"),
        List.of("ring"), List.of("ring", "show"), List.of("ring", "set-replication"),
        List.of("status"));
    for (List<String> c : commands) {
      List<String> withHelp = new java.util.ArrayList<>(c);
      withHelp.add("--help");
      String[] args = withHelp.toArray(String[]::new);
      assertThat(run(args)).as("torus %s --help", c).isZero();
      assertThat(out).as("torus %s --help", c).startsWith("Usage: torus");
    }
  }

  @Test
  void withoutANodeTheErrorIsOneLineAndTheExitNonZero() {
    org.junit.jupiter.api.Assumptions.assumeTrue(System.getenv(NodeOptions.ENV) == null,
        "TORUS_ETCD is set in this environment");
    assertThat(run("volume", "list")).isEqualTo(1);
    assertThat(err).isEqualTo("torus: no node given: use --etcd URLS (or set TORUS_ETCD) for"
        + " a cluster, or --data DIR for a local node" + System.lineSeparator());
    assertThat(run("volume", "list", "--etcd", "http://x:1", "--data", "d")).isEqualTo(1);
    assertThat(err).contains("not both");
  }

  @Test
  void badArgumentsAreUsageErrors() {
    assertThat(run("volume", "create", "--data", "d", "v", "12 parsecs")).isEqualTo(2);
    assertThat(err).contains("unknown size unit in '12 parsecs'");
    assertThat(run("snapshot", "create", "--data", "d", "novolsnap")).isEqualTo(1);
    assertThat(err).contains("expected VOLUME@SNAPSHOT, got 'novolsnap'");
  }

  @Test
  void volumeReferences() {
    assertThat(VolRef.parse("vm")).isEqualTo(new VolRef("vm", null));
    assertThat(VolRef.parse("vm@s1")).isEqualTo(new VolRef("vm", "s1"));
    assertThat(VolRef.parse("vm@s1").toString()).isEqualTo("vm@s1");
    assertThatThrownBy(() -> VolRef.parse("vm@")).isInstanceOf(TorusException.class);
    assertThatThrownBy(() -> VolRef.parse("-x")).isInstanceOf(TorusException.class);
  }

  @Test
  void etcdEndpointsGetASchemeAndSplitOnCommas() {
    assertThat(NodeOptions.endpoints("127.0.0.1:2379, http://10.0.0.2:2379"))
        .containsExactly("http://127.0.0.1:2379", "http://10.0.0.2:2379");
    assertThatThrownBy(() -> NodeOptions.endpoints(" ")).hasMessageContaining("TORUS_ETCD");
  }

  @Test
  void sizesParseAndPrint() {
    assertThat(Size.parse("64KiB").bytes()).isEqualTo(65536);
    assertThat(Size.parse("1g").bytes()).isEqualTo(1L << 30);
    assertThat(Size.format(3L << 20)).isEqualTo("3 MiB");
    assertThat(Size.human(1536L << 20)).isEqualTo("1.5 GiB");
    assertThat(Size.human(700)).isEqualTo("700 B");
  }
}
