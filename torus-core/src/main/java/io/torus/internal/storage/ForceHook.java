package io.torus.internal.storage;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Observes every force ({@code fsync}) a {@link FileBlockStore} issues: data files, the index
 * log and a compaction's new log. Fault tests use it to fail or delay a force; the store uses
 * {@link #NONE}. Called on the thread that leads the flush round, with no store lock held
 * other than the shared side of the open/closed lock (the exclusive side during close).
 */
interface ForceHook {
  /** Does nothing. */
  ForceHook NONE = new ForceHook() {};

  /** Runs just before {@code file} is forced; an exception fails the force. */
  default void before(Path file) throws IOException {}

  /** Runs just after {@code file} was forced successfully. */
  default void after(Path file) {}
}
