package io.torus.internal.meta.etcd.archfixture;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/**
 * Breaks the transport rule: the etcd package may use Netty's TLS builder (jetcd's hook) but
 * no other Netty type.
 */
public final class NettyBufferInEtcdPackage {
  private NettyBufferInEtcdPackage() {}

  /** The bytes in a Netty buffer. */
  public static ByteBuf wrap(byte[] bytes) {
    return Unpooled.wrappedBuffer(bytes);
  }
}
