package io.torus.examples.cli;

import io.torus.Page;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Paging of a list command: {@code --limit N} entries a page (default 100), {@code --after
 * NAME} to start after a name, {@code --all} to print every page. Without {@code --all}, when
 * more entries follow, the last line printed is {@code more: torus ... --after NAME}: this
 * command line again (every option as given) with the {@code --after} of the next page.
 * Pages are read one at a time, so no more than one page is ever held.
 */
final class PageOptions {
  /** Entries a page when {@code --limit} is not given. */
  static final int DEFAULT_LIMIT = 100;

  /** Arguments that need no quoting in the printed command line. */
  private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9._/=:@,+%-]+");

  @Option(names = "--limit", paramLabel = "N", defaultValue = "" + DEFAULT_LIMIT,
      description = "Entries per page, 1 to 10000 (default: ${DEFAULT-VALUE}).")
  int limit = DEFAULT_LIMIT;

  @Option(names = "--after", paramLabel = "NAME",
      description = "Start after this name (need not exist), as the 'more:' line says.")
  String after;

  @Option(names = "--all", description = "Print every entry, reading page after page.")
  boolean all;

  @Spec(Spec.Target.MIXEE)
  CommandSpec spec;

  /**
   * Prints the rows of the page at {@code --after} (of every page after it with
   * {@code --all}) through {@code row}; then, if entries follow and not {@code --all}, the
   * {@code more:} line.
   *
   * @param list reads one page: (after, limit)
   */
  <T> void print(BiFunction<String, Integer, Page<T>> list, Consumer<T> row) {
    if (limit < 1 || limit > Page.MAX_LIMIT) {
      throw new UsageError("--limit must be 1 to " + Page.MAX_LIMIT + ": " + limit);
    }
    String cursor = after;
    while (true) {
      Page<T> p = list.apply(cursor, limit);
      p.items().forEach(row);
      if (!p.hasMore()) {
        return;
      }
      if (!all) {
        System.out.println("more: " + nextPage(p.next()));
        return;
      }
      cursor = p.next();
    }
  }

  /** This command line with {@code --after next} instead of any {@code --after} given. */
  String nextPage(String next) {
    return nextPage(originalArgs(spec), List.of(), next);
  }

  /** The arguments {@code torus} was run with. */
  static List<String> originalArgs(CommandSpec spec) {
    return spec.root().commandLine().getParseResult().originalArgs();
  }

  /**
   * {@code torus ARGS --after next}, where ARGS are {@code args} without {@code --after} (and
   * its value) and {@code --all}, and with the first argument that names a command replaced
   * by {@code command} (if not empty: {@code status} becomes {@code volume list}).
   */
  static String nextPage(List<String> args, List<String> command, String next) {
    List<String> out = new ArrayList<>();
    boolean replaced = command.isEmpty();
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      if (a.equals("--after")) {
        i++; // its value
      } else if (!a.startsWith("--after=") && !a.equals("--all")) {
        if (!replaced && !a.startsWith("-")) {
          out.addAll(command);
          replaced = true;
        } else {
          out.add(a);
        }
      }
    }
    out.add("--after");
    out.add(next);
    StringBuilder b = new StringBuilder("torus");
    for (String a : out) {
      b.append(' ').append(PLAIN.matcher(a).matches() ? a : "'" + a.replace("'", "'\\''")
          + "'");
    }
    return b.toString();
  }
}
