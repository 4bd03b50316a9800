package io.torus.nbd.internal;

import io.netty.buffer.ByteBuf;

/**
 * A decoded transmission request (its wire layout is in {@link CommandHandler});
 * {@code payload} is the WRITE data or null, released exactly once by the command that
 * handles the request.
 */
record Request(int flags, int type, long cookie, long offset, long length, ByteBuf payload) {
  /**
   * The request whose header starts at index {@code r} of {@code in} (magic already checked,
   * nothing consumed), without its payload.
   */
  static Request peek(ByteBuf in, int r) {
    return new Request(in.getUnsignedShort(r + 4), in.getUnsignedShort(r + 6), in.getLong(r + 8),
        in.getLong(r + 16), in.getUnsignedInt(r + 24), null);
  }

  Request withPayload(ByteBuf p) {
    return new Request(flags, type, cookie, offset, length, p);
  }
}
