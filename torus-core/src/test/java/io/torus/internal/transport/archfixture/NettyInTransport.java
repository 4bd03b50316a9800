package io.torus.internal.transport.archfixture;

import com.google.protobuf.ByteString;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/** Keeps the transport rule: Netty and protobuf inside {@code io.torus.internal.transport}. */
public final class NettyInTransport {
  private NettyInTransport() {}

  /** The protobuf bytes in a Netty buffer. */
  public static ByteBuf wrap(ByteString bytes) {
    return Unpooled.wrappedBuffer(bytes.toByteArray());
  }
}
