package io.torus.archfixture;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/** Breaks the transport rule: Netty outside {@code io.torus.internal.transport}. */
public final class NettyOutsideTransport {
  private NettyOutsideTransport() {}

  /** The bytes in a Netty buffer. */
  public static ByteBuf wrap(byte[] bytes) {
    return Unpooled.wrappedBuffer(bytes);
  }
}
