package io.torus.testing.arch;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * No main source file over {@value #MAX_LINES} lines unless it says why: a comment line
 * starting with {@value #REASON} (and a reason after it) within its first
 * {@value #HEADER_LINES} lines. Covers {@code src/main/java} of every module the project's
 * top pom lists.
 */
public final class SourceSizeRule {
  private SourceSizeRule() {}

  /** The most lines a main source file may have without a stated reason. */
  public static final int MAX_LINES = 600;

  /** How a file over the limit opens its reason (after {@code //}, {@code /*} or {@code *}). */
  public static final String REASON = "Over 600 lines because";

  /** The reason must be within this many lines from the top. */
  public static final int HEADER_LINES = 30;

  private static final Pattern MODULE = Pattern.compile("<module>\\s*([^<\\s]+)\\s*</module>");

  /**
   * The project's root: the nearest directory at or above {@code start} whose
   * {@code pom.xml} lists modules.
   *
   * @throws IllegalStateException if there is none
   */
  public static Path projectRoot(Path start) {
    for (Path dir = start.toAbsolutePath().normalize(); dir != null; dir = dir.getParent()) {
      Path pom = dir.resolve("pom.xml");
      if (Files.isRegularFile(pom) && !modules(pom).isEmpty()) {
        return dir;
      }
    }
    throw new IllegalStateException("no pom.xml listing <modules> at or above " + start);
  }

  /**
   * Every main source file of the project at {@code root} over the limit without a reason,
   * as {@code "path: N lines"} with the path relative to {@code root}, sorted.
   */
  public static List<String> violations(Path root) {
    List<String> out = new ArrayList<>();
    for (String module : modules(root.resolve("pom.xml"))) {
      Path sources = root.resolve(module).resolve("src/main/java");
      if (!Files.isDirectory(sources)) {
        continue;
      }
      try (Stream<Path> files = Files.walk(sources)) {
        files.filter(p -> p.toString().endsWith(".java")).sorted().forEach(p -> {
          List<String> lines = read(p);
          if (lines.size() > MAX_LINES && !statesReason(lines)) {
            out.add(root.relativize(p) + ": " + lines.size() + " lines");
          }
        });
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return out;
  }

  /** Whether one of the first {@value #HEADER_LINES} lines is a comment giving the reason. */
  static boolean statesReason(List<String> lines) {
    for (String line : lines.subList(0, Math.min(HEADER_LINES, lines.size()))) {
      String text = line.strip();
      for (String opener : List.of("//", "/**", "/*", "*")) {
        if (text.startsWith(opener)) {
          text = text.substring(opener.length()).strip();
          if (text.startsWith(REASON) && !text.substring(REASON.length()).isBlank()) {
            return true;
          }
          break;
        }
      }
    }
    return false;
  }

  private static List<String> modules(Path pom) {
    Matcher m = MODULE.matcher(String.join("\n", read(pom)));
    List<String> modules = new ArrayList<>();
    while (m.find()) {
      modules.add(m.group(1));
    }
    return modules;
  }

  private static List<String> read(Path p) {
    try {
      return Files.readAllLines(p, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
