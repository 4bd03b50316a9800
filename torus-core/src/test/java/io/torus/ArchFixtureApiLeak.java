package io.torus;

import io.torus.internal.ring.Ring;

/**
 * Breaks the public-API rule: an {@code io.torus} type exposing an engine type. Test code
 * only ({@code ArchitectureRulesTest}).
 */
public interface ArchFixtureApiLeak {
  /** The ring, an engine type. */
  Ring ring();
}
