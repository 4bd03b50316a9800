package io.torus.internal.transport;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.CorruptedFrameException;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.MessageToMessageDecoder;
import io.netty.handler.codec.MessageToMessageEncoder;
import io.torus.internal.transport.proto.Header;
import com.google.protobuf.InvalidProtocolBufferException;
import java.util.List;

/**
 * The peer protocol frame, version 1. Big-endian.
 *
 * <pre>
 * +--------+-----------+--------------------+----------------------+
 * | 0..3   | 4..5      | 6 .. 6+h-1         | 6+h .. 4+length-1    |
 * | length | headerLen | header (protobuf)  | payload (raw bytes)  |
 * |  u32   | u16 = h   | torus.peer.v1.     | block bytes, refs or |
 * |        |           | Header             | flags, per operation |
 * +--------+-----------+--------------------+----------------------+
 * length = 2 + h + payload length (the bytes after the length field),
 *          at most MAX_FRAME; h at most MAX_HEADER.
 * </pre>
 *
 * <p>A frame that is longer than {@link #MAX_FRAME}, whose header length exceeds the frame
 * or {@link #MAX_HEADER}, or whose header does not parse, is a protocol error: the
 * connection is closed (see the handlers). Encoding never copies the payload: the header
 * buffer and the payload go to the socket as two buffers.
 */
final class FrameCodec {
  /** Largest header in bytes. */
  static final int MAX_HEADER = 4096;
  /** Largest frame (after the length field): a 4 MiB block plus headroom. */
  static final int MAX_FRAME = (4 << 20) + (64 << 10);

  private FrameCodec() {}

  /** Adds the decoder and encoder to a pipeline. */
  static void install(ChannelPipeline p) {
    p.addLast("frame-length", new LengthFieldBasedFrameDecoder(MAX_FRAME, 0, 4, 0, 4, true));
    p.addLast("frame-decoder", new Decoder());
    p.addLast("frame-encoder", new Encoder());
  }

  /** Decodes one length-delimited frame; its payload is a retained slice the reader owns. */
  static Frame decode(ByteBuf frame) {
    if (frame.readableBytes() < 2) {
      throw new CorruptedFrameException("frame of " + frame.readableBytes() + " bytes");
    }
    int h = frame.readUnsignedShort();
    if (h > MAX_HEADER || h > frame.readableBytes()) {
      throw new CorruptedFrameException("header length " + h + " in a frame of "
          + (frame.readableBytes() + 2) + " bytes");
    }
    Header header;
    try {
      header = Header.parseFrom(frame.nioBuffer(frame.readerIndex(), h));
    } catch (InvalidProtocolBufferException e) {
      throw new CorruptedFrameException("header does not parse: " + e.getMessage(), e);
    }
    frame.skipBytes(h);
    return new Frame(header, frame.readRetainedSlice(frame.readableBytes()));
  }

  /** The length field, header length and header of a frame carrying {@code payloadBytes}. */
  static ByteBuf prefix(io.netty.buffer.ByteBufAllocator alloc, Header header,
      int payloadBytes) {
    byte[] h = header.toByteArray();
    if (h.length > MAX_HEADER) {
      throw new IllegalArgumentException("header of " + h.length + " bytes");
    }
    int length = 2 + h.length + payloadBytes;
    if (length > MAX_FRAME) {
      throw new IllegalArgumentException("frame of " + length + " bytes > " + MAX_FRAME);
    }
    ByteBuf b = alloc.buffer(6 + h.length);
    b.writeInt(length).writeShort(h.length).writeBytes(h);
    return b;
  }

  @ChannelHandler.Sharable
  static final class Decoder extends MessageToMessageDecoder<ByteBuf> {
    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf msg, List<Object> out) {
      out.add(FrameCodec.decode(msg));
    }
  }

  /** Writes a frame as two buffers (prefix, payload); takes ownership of the payload. */
  static final class Encoder extends MessageToMessageEncoder<Frame> {
    @Override
    protected void encode(ChannelHandlerContext ctx, Frame f, List<Object> out) {
      ByteBuf prefix;
      try {
        prefix = prefix(ctx.alloc(), f.header, f.payload.readableBytes());
      } catch (RuntimeException e) {
        f.release();
        throw e;
      }
      out.add(prefix);
      out.add(f.payload.isReadable() ? f.payload : releaseEmpty(f.payload));
    }

    private static ByteBuf releaseEmpty(ByteBuf b) {
      b.release();
      return Unpooled.EMPTY_BUFFER;
    }
  }
}
