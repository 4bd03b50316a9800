package io.torus.internal.transport;

import io.netty.buffer.ByteBuf;
import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.spi.BlockRef;
import io.torus.internal.transport.proto.Header;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/** Constants and small helpers of the peer protocol shared by client and server. */
final class PeerProtocol {
  /** The protocol version spoken; the handshake refuses any other. */
  static final int VERSION = 1;
  /** Largest number of refs one LIST response carries. */
  static final int MAX_LIST = 100_000;

  /**
   * Largest payload of one JOURNAL_FENCE answer; more entries follow in further answers (the
   * header's {@code more}). An entry is at most 1 MiB, so every answer carries at least one.
   */
  static final int MAX_FENCE_PAYLOAD = 4 << 20;
  /** Bytes before each entry in a JOURNAL_FENCE answer: u64 generation, u32 length. */
  static final int FENCE_RECORD_HEADER = 12;

  private PeerProtocol() {}

  /**
   * The leading records of {@code records} (from index {@code from}) that fit in
   * {@link #MAX_FENCE_PAYLOAD}, at least one; returns how many were written to {@code out}.
   * Layout (big-endian), repeated: {@code u64 generation | u32 length | length bytes}.
   */
  static int writeFence(List<JournalRecord> records, int from, ByteBuf out) {
    int n = 0;
    long bytes = 0;
    for (int i = from; i < records.size(); i++) {
      JournalRecord r = records.get(i);
      long size = FENCE_RECORD_HEADER + (long) r.entry().length;
      if (n > 0 && bytes + size > MAX_FENCE_PAYLOAD) {
        break;
      }
      out.writeLong(r.generation()).writeInt(r.entry().length).writeBytes(r.entry());
      bytes += size;
      n++;
    }
    return n;
  }

  /** The records of a JOURNAL_FENCE answer's payload; EIO if it does not parse. */
  static List<JournalRecord> readFence(ByteBuffer in) {
    List<JournalRecord> out = new ArrayList<>();
    while (in.hasRemaining()) {
      if (in.remaining() < FENCE_RECORD_HEADER) {
        throw new TorusException(ErrorCode.EIO, "JOURNAL_FENCE answer ends"
            + " inside a record header (" + in.remaining() + " bytes left)");
      }
      long generation = in.getLong();
      int length = in.getInt();
      if (length < 0 || length > in.remaining()) {
        throw new TorusException(ErrorCode.EIO, "JOURNAL_FENCE record of "
            + "generation " + generation + " claims " + length + " bytes, "
            + in.remaining() + " left");
      }
      byte[] entry = new byte[length];
      in.get(entry);
      out.add(new JournalRecord(generation, entry));
    }
    return out;
  }

  static ByteString ref(BlockRef ref) {
    ByteBuffer b = ByteBuffer.allocate(BlockRef.BYTES);
    ref.writeTo(b);
    return ByteString.copyFrom(b.array());
  }

  static BlockRef ref(Header h) {
    if (h.getRef().size() != BlockRef.BYTES) {
      throw TorusException.invalid("block ref of " + h.getRef().size() + " bytes");
    }
    return BlockRef.readFrom(h.getRef().asReadOnlyByteBuffer());
  }
}
