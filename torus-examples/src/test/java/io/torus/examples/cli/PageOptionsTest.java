package io.torus.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The {@code more:} command line of a paged listing. */
class PageOptionsTest {
  @Test
  void theNextPageIsTheSameCommandLineWithTheNextAfter() {
    assertThat(PageOptions.nextPage(List.of("volume", "list"), List.of(), "v9"))
        .isEqualTo("torus volume list --after v9");
    assertThat(PageOptions.nextPage(List.of("-v", "volume", "list", "--after", "v1", "--limit",
        "5", "--etcd", "http://10.0.0.1:2379"), List.of(), "v9"))
        .isEqualTo("torus -v volume list --limit 5 --etcd http://10.0.0.1:2379 --after v9");
    assertThat(PageOptions.nextPage(List.of("snapshot", "list", "--after=s1", "vol", "--data",
        "/tmp/my dir"), List.of(), "s-2"))
        .isEqualTo("torus snapshot list vol --data '/tmp/my dir' --after s-2");
    assertThat(PageOptions.nextPage(List.of("status", "--data", "it's"),
        List.of("volume", "list"), "v"))
        .isEqualTo("torus volume list --data 'it'\\''s' --after v");
  }
}
