package io.torus.arch;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.testing.arch.SourceSizeRule;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Main source files of every module stay within {@value SourceSizeRule#MAX_LINES} lines or
 * state why near their top; and the rule itself, on a project made up in a temporary directory.
 */
class SourceSizeTest {

  @Test
  void mainSourcesStayWithinTheLimitOrSayWhy() {
    Path root = SourceSizeRule.projectRoot(Path.of(""));
    assertThat(SourceSizeRule.violations(root))
        .as("main source files over %d lines; split them, or put a comment line starting "
            + "with \"%s ...\" in their first %d lines", SourceSizeRule.MAX_LINES,
            SourceSizeRule.REASON, SourceSizeRule.HEADER_LINES)
        .isEmpty();
  }

  @Test
  void projectRootIsTheDirectoryWhosePomListsModules(@TempDir Path dir) throws IOException {
    Path root = project(dir);
    Path nested = Files.createDirectories(root.resolve("a/src/main/java"));
    Files.writeString(root.resolve("a/pom.xml"), "<project><artifactId>a</artifactId>"
        + "</project>\n");
    assertThat(SourceSizeRule.projectRoot(nested)).isEqualTo(root);
    assertThat(SourceSizeRule.projectRoot(root.resolve("a"))).isEqualTo(root);
  }

  @Test
  void fileOverTheLimitFails(@TempDir Path dir) throws IOException {
    Path root = project(dir);
    source(root, "a", "Big.java", List.of(), SourceSizeRule.MAX_LINES + 1);
    assertThat(SourceSizeRule.violations(root))
        .containsExactly(Path.of("a/src/main/java/p/Big.java") + ": 601 lines");
  }

  @Test
  void fileAtTheLimitPasses(@TempDir Path dir) throws IOException {
    Path root = project(dir);
    source(root, "b", "Fits.java", List.of(), SourceSizeRule.MAX_LINES);
    assertThat(SourceSizeRule.violations(root)).isEmpty();
  }

  @Test
  void fileOverTheLimitWithAReasonPasses(@TempDir Path dir) throws IOException {
    Path root = project(dir);
    source(root, "a", "Line.java",
        List.of("// Over 600 lines because the wire table and its codec belong together."),
        SourceSizeRule.MAX_LINES + 1);
    source(root, "b", "Doc.java", List.of("/**", " * The codec.", " *",
        " * Over 600 lines because the wire table and its codec belong together.", " */"),
        SourceSizeRule.MAX_LINES + 1);
    assertThat(SourceSizeRule.violations(root)).isEmpty();
  }

  @Test
  void reasonMustBeACommentNearTheTopAndSaySomething(@TempDir Path dir) throws IOException {
    Path root = project(dir);
    List<String> late = new ArrayList<>();
    for (int i = 0; i < SourceSizeRule.HEADER_LINES; i++) {
      late.add("// filler");
    }
    late.add("// Over 600 lines because the reason comes too late.");
    source(root, "a", "Late.java", late, SourceSizeRule.MAX_LINES + 1);
    source(root, "a", "Empty.java", List.of("// Over 600 lines because"),
        SourceSizeRule.MAX_LINES + 1);
    source(root, "a", "Code.java", List.of("String s = \"Over 600 lines because x\";"),
        SourceSizeRule.MAX_LINES + 1);
    assertThat(SourceSizeRule.violations(root)).containsExactly(
        Path.of("a/src/main/java/p/Code.java") + ": 601 lines",
        Path.of("a/src/main/java/p/Empty.java") + ": 601 lines",
        Path.of("a/src/main/java/p/Late.java") + ": 601 lines");
  }

  @Test
  void testSourcesAndUnlistedModulesAreNotChecked(@TempDir Path dir) throws IOException {
    Path root = project(dir);
    Path test = Files.createDirectories(root.resolve("a/src/test/java"));
    Files.write(test.resolve("BigTest.java"), lines(List.of(), 700));
    source(root, "unlisted", "Big.java", List.of(), 700);
    assertThat(SourceSizeRule.violations(root)).isEmpty();
  }

  /** A project whose top pom lists modules {@code a} and {@code b}. */
  private static Path project(Path dir) throws IOException {
    Files.writeString(dir.resolve("pom.xml"), "<project>\n  <modules>\n"
        + "    <module>a</module>\n    <module>b</module>\n  </modules>\n</project>\n");
    return dir.toRealPath();
  }

  private static void source(Path root, String module, String name, List<String> header,
      int totalLines) throws IOException {
    Path dir = Files.createDirectories(root.resolve(module).resolve("src/main/java/p"));
    Files.write(dir.resolve(name), lines(header, totalLines));
  }

  private static List<String> lines(List<String> header, int totalLines) {
    List<String> out = new ArrayList<>(header);
    while (out.size() < totalLines) {
      out.add("// line " + (out.size() + 1));
    }
    return out;
  }
}
