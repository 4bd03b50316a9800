package io.torus.internal.transport;

import io.torus.spi.BlockRef;
import io.torus.internal.transport.proto.Header;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;

/** Constants and small helpers of the peer protocol shared by client and server. */
final class PeerProtocol {
  /** The protocol version spoken; the handshake refuses any other. */
  static final int VERSION = 1;
  /** Largest number of refs one LIST response carries. */
  static final int MAX_LIST = 100_000;

  private PeerProtocol() {}

  static ByteString ref(BlockRef ref) {
    ByteBuffer b = ByteBuffer.allocate(BlockRef.BYTES);
    ref.writeTo(b);
    return ByteString.copyFrom(b.array());
  }

  static BlockRef ref(Header h) {
    if (h.getRef().size() != BlockRef.BYTES) {
      throw io.torus.TorusException.invalid("block ref of " + h.getRef().size() + " bytes");
    }
    return BlockRef.readFrom(h.getRef().asReadOnlyByteBuffer());
  }
}
