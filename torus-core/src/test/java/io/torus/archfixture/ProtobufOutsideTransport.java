package io.torus.archfixture;

import com.google.protobuf.ByteString;

/** Breaks the transport rule: protobuf outside {@code io.torus.internal.transport}. */
public final class ProtobufOutsideTransport {
  private ProtobufOutsideTransport() {}

  /** The bytes as a protobuf string. */
  public static ByteString copy(byte[] bytes) {
    return ByteString.copyFrom(bytes);
  }
}
