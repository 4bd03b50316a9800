package io.torus.arch;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.testing.arch.SourceSizeRule;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The package map of {@code src-docs/architecture.md} names every package with main sources in
 * the tree, and nothing else.
 */
class PackageMapTest {
  private static final Pattern ROW = Pattern.compile("^\\| `(io\\.torus[a-z.]*)` \\|");

  @Test
  void thePackageMapMatchesTheTree() throws IOException {
    Path root = SourceSizeRule.projectRoot(Path.of("").toAbsolutePath());
    TreeSet<String> documented = new TreeSet<>();
    boolean inMap = false;
    for (String line : Files.readAllLines(root.resolve("src-docs/architecture.md"))) {
      if (line.startsWith("## ")) {
        inMap = line.equals("## Package map");
      }
      Matcher m = ROW.matcher(line);
      if (inMap && m.find()) {
        documented.add(m.group(1));
      }
    }
    TreeSet<String> tree = new TreeSet<>();
    for (String module : List.of("torus-core", "torus-nbd", "torus-examples", "benchmarks")) {
      Path src = root.resolve(module).resolve("src/main/java");
      try (Stream<Path> files = Files.walk(src)) {
        for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
          tree.add(src.relativize(f.getParent()).toString().replace('/', '.'));
        }
      }
    }
    tree.add("io.torus.internal.transport.proto"); // generated from peer.proto at build time
    assertThat(new ArrayList<>(documented)).as("packages in the map of architecture.md")
        .containsExactlyElementsOf(tree);
  }
}
