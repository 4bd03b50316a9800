package io.torus.internal.meta.local;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Observes every force ({@code fsync}) of the head log ({@link HeadLog}). Fault and group
 * commit tests use it to count, delay or fail forces; the service uses {@link #NONE}. Called
 * on the committing thread that forces, with no service lock held.
 */
interface ForceHook {
  /** Does nothing. */
  ForceHook NONE = new ForceHook() {};

  /** Runs just before {@code file} is forced; an exception fails the force. */
  default void before(Path file) throws IOException {}

  /** Runs just after {@code file} was forced successfully. */
  default void after(Path file) {}
}
