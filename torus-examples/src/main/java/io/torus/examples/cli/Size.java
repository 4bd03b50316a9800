package io.torus.examples.cli;

import java.util.Locale;
import picocli.CommandLine;

/**
 * A size in bytes as users write it: {@code 4096}, {@code 512KiB}, {@code 1GiB}, {@code 2T}.
 * Units are binary (K = KiB = 1024).
 */
record Size(long bytes) {

  static Size parse(String text) {
    String s = text.trim().toUpperCase(Locale.ROOT);
    int i = 0;
    while (i < s.length() && Character.isDigit(s.charAt(i))) {
      i++;
    }
    if (i == 0) {
      throw new CommandLine.TypeConversionException("not a size: '" + text
          + "' (examples: 4096, 64KiB, 1GiB, 2TiB)");
    }
    String unit = s.substring(i).trim();
    int shift;
    switch (unit) {
      case "": case "B": shift = 0; break;
      case "K": case "KB": case "KIB": shift = 10; break;
      case "M": case "MB": case "MIB": shift = 20; break;
      case "G": case "GB": case "GIB": shift = 30; break;
      case "T": case "TB": case "TIB": shift = 40; break;
      case "P": case "PB": case "PIB": shift = 50; break;
      default:
        throw new CommandLine.TypeConversionException("unknown size unit in '" + text
            + "' (use B, KiB, MiB, GiB, TiB, PiB)");
    }
    long n;
    try {
      n = Long.parseLong(s.substring(0, i));
    } catch (NumberFormatException e) {
      throw new CommandLine.TypeConversionException("size too large: '" + text + "'");
    }
    if (n > (Long.MAX_VALUE >> shift)) {
      throw new CommandLine.TypeConversionException("size too large: '" + text + "'");
    }
    return new Size(n << shift);
  }

  /** A short human form, e.g. {@code 1 GiB} or {@code 1536 KiB}. */
  static String format(long bytes) {
    String[] units = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    int u = 0;
    long v = bytes;
    while (u < units.length - 1 && v >= 1024 && v % 1024 == 0) {
      v /= 1024;
      u++;
    }
    return v + " " + units[u];
  }

  /** An approximate human form with one decimal, e.g. {@code 1.5 GiB} or {@code 700 B}. */
  static String human(long bytes) {
    String[] units = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = bytes;
    int u = 0;
    while (u < units.length - 1 && v >= 1024) {
      v /= 1024;
      u++;
    }
    return u == 0 ? bytes + " B" : String.format(java.util.Locale.ROOT, "%.1f %s", v, units[u]);
  }
}
