package io.torus.examples.cli;

import io.torus.Torus;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Selects the node a command works on: a local data directory (a stopped demo's). */
final class LocalNodeOptions {
  @Option(names = "--data", required = true,
      description = "Data directory of a local node, e.g. torus-demo (the node must not be"
          + " running).")
  Path data;

  /** Opens the node; the caller closes it. */
  Torus open() {
    Path dir = Files.isDirectory(data.resolve("node")) ? data.resolve("node") : data;
    if (!Files.isDirectory(dir.resolve("meta"))) {
      throw new IllegalArgumentException("no Torus node in " + data
          + " (run 'torus demo --data " + data + "' first)");
    }
    return Torus.builder().dataDirectory(dir).storeType("memory").build();
  }
}
