package io.torus.nbd.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.List;

/**
 * The payload of one WRITE while it arrives. Memory follows the bytes received, never the
 * length the client announced: data is copied into direct chunks allocated when the first
 * byte for them arrives. A chunk is as large as the bytes at hand, and at least 64 KiB and as
 * much as already received up to 1 MiB, so memory stays under twice the bytes received plus
 * 64 KiB: a client that announces 32 MiB and sends 10 KiB holds 64 KiB.
 *
 * <p>{@link #finish()} returns one buffer of exactly the payload: the single chunk when the
 * whole payload arrived at once, else a copy of the chunks into one buffer (for a moment both
 * exist; the connection counts both against the server's budget).
 *
 * <p>Ownership: the assembly owns its chunks until {@link #finish()} (the caller then owns the
 * result) or {@link #release()}. Confined to the connection's event loop.
 */
final class PayloadAssembly {
  static final int MIN_CHUNK = 64 << 10;
  static final int MAX_CHUNK = 1 << 20;

  private final ByteBufAllocator alloc;
  private final Request request;
  private final int length;
  private final List<ByteBuf> chunks = new ArrayList<>();
  private int received;
  private long capacity;

  /** @param request the WRITE request whose payload ({@code request.length()} bytes) follows */
  PayloadAssembly(ByteBufAllocator alloc, Request request) {
    this.alloc = alloc;
    this.request = request;
    this.length = (int) request.length();
  }

  Request request() {
    return request;
  }

  int remaining() {
    return length - received;
  }

  boolean isComplete() {
    return received == length;
  }

  /** Bytes of chunk memory held. */
  long capacity() {
    return capacity;
  }

  /** Copies {@code n} bytes (at most {@link #remaining()}) from {@code src}. */
  void append(ByteBuf src, int n) {
    while (n > 0) {
      ByteBuf last = chunks.isEmpty() ? null : chunks.get(chunks.size() - 1);
      if (last == null || !last.isWritable()) {
        long grow = Math.max(MIN_CHUNK, Math.min(MAX_CHUNK, capacity));
        int size = (int) Math.min(remaining(), Math.max(n, grow));
        last = alloc.directBuffer(size, size);
        chunks.add(last);
        capacity += size;
      }
      int k = Math.min(n, last.writableBytes());
      last.writeBytes(src, k);
      n -= k;
      received += k;
    }
  }

  /** The complete payload as one buffer the caller owns; the assembly is empty afterwards. */
  ByteBuf finish() {
    if (length == 0) {
      return Unpooled.EMPTY_BUFFER;
    }
    ByteBuf out;
    if (chunks.size() == 1) {
      out = chunks.get(0);
    } else {
      out = alloc.directBuffer(length, length);
      for (ByteBuf c : chunks) {
        out.writeBytes(c);
        c.release();
      }
    }
    chunks.clear();
    capacity = 0;
    return out;
  }

  /** Releases every chunk (the client went away mid-payload). */
  void release() {
    for (ByteBuf c : chunks) {
      c.release();
    }
    chunks.clear();
    capacity = 0;
  }
}
