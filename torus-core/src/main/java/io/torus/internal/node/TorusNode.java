package io.torus.internal.node;

import io.torus.Torus;

/** The node behind {@link Torus}. */
public final class TorusNode {
  private TorusNode() {}

  /** Starts a node with {@code config}. */
  public static Torus start(NodeConfig config) {
    throw new IllegalStateException("the volume engine is being assembled");
  }
}
