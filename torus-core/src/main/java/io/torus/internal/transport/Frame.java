package io.torus.internal.transport;

import io.netty.buffer.ByteBuf;
import io.torus.internal.transport.proto.Header;

/**
 * One decoded frame: its header and its raw payload. Ownership: whoever receives a frame
 * owns its payload and must {@link #release()} it exactly once.
 */
final class Frame {
  final Header header;
  final ByteBuf payload;

  Frame(Header header, ByteBuf payload) {
    this.header = header;
    this.payload = payload;
  }

  void release() {
    payload.release();
  }
}
