package io.torus.nbd.internal;

import io.netty.buffer.ByteBuf;
import io.torus.BlockVolume;
import io.torus.Extent;
import io.torus.TorusException;
import io.torus.nbd.NbdExport;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * Runs the transmission commands of one connection against its export's volume.
 *
 * <pre>
 * Request (28 bytes, then the data of a WRITE)
 * +0  u32 magic   0x25609513
 * +4  u16 flags   FUA 1, NO_HOLE 2, DF 4, REQ_ONE 8, FAST_ZERO 16
 * +6  u16 type    READ 0, WRITE 1, DISC 2, FLUSH 3, TRIM 4, WRITE_ZEROES 6, BLOCK_STATUS 7
 * +8  u64 cookie  echoed in the reply
 * +16 u64 offset
 * +24 u32 length
 * </pre>
 *
 * <p><b>Contract.</b> Every request gets exactly one reply, and it reports success only if
 * the volume reported success: a failed volume call becomes the errno of its
 * {@link TorusException#code()}. A write with FUA is answered only after a flush that
 * started after the write completed has itself completed. Validation happens before any
 * buffer is allocated; READ buffers are sized from a length already checked against 32 MiB
 * and the export size.
 *
 * <p><b>Ownership.</b> A WRITE payload is released when its volume call completes. A READ
 * reply buffer is filled by the volume on its executor and then handed to the connection
 * (which writes and releases it), or released on failure.
 *
 * <p><b>Errors.</b> Every error reply is logged at WARN with its cause, at most one line per
 * second per export; the next line counts those suppressed in between.
 *
 * <p><b>Concurrency.</b> {@link #handle} runs on the event loop; completions run on the
 * volume's executor and only call {@link NbdConnection#reply}, which is thread-safe.
 */
final class CommandHandler {
  private static final int ZERO_CHUNK = 1 << 20;
  private static final ByteBuffer ZEROES = ByteBuffer.allocateDirect(ZERO_CHUNK)
      .asReadOnlyBuffer();
  private static final int MAX_DESCRIPTORS = 1024;

  private final NbdConnection conn;
  private final ServerState server;
  private final NbdExport export;
  private final BlockVolume volume;
  private final boolean structured;
  private final boolean allocationContext;
  private final int minimum;
  private final RateLimitedLog errors;

  CommandHandler(NbdConnection conn, ServerState server, NbdExport export, boolean structured,
      boolean allocationContext, boolean enforceMinimum) {
    this.conn = conn;
    this.server = server;
    this.export = export;
    this.volume = export.volume();
    this.structured = structured;
    this.allocationContext = allocationContext;
    this.minimum = enforceMinimum ? export.minimumBlockSize() : 1;
    this.errors = server.errorLog(export.name());
  }

  /**
   * Starts one request whose {@code cost} (bytes of budget the connection counted for it) is
   * released when its reply has been written; replies asynchronously. Event loop only.
   */
  void handle(Request r, long cost) {
    Invalid bad = validate(r);
    if (bad != null) {
      if (r.payload() != null) {
        r.payload().release();
      }
      fail(r, bad.errno, bad.message, null, cost);
      return;
    }
    switch (r.type()) {
      case Nbd.CMD_READ:
        read(r, cost);
        break;
      case Nbd.CMD_WRITE:
        write(r, cost);
        break;
      case Nbd.CMD_FLUSH:
        finish(r, cost, call(volume::flushAsync));
        break;
      case Nbd.CMD_TRIM:
        finish(r, cost, fua(r, call(() -> volume.trimAsync(r.offset(), r.length()))));
        break;
      case Nbd.CMD_WRITE_ZEROES:
        finish(r, cost, fua(r, writeZeroes(r)));
        break;
      default:
        blockStatus(r, cost);
    }
  }

  private record Invalid(int errno, String message) {}

  private Invalid validate(Request r) {
    if (server.isShuttingDown()) {
      return new Invalid(Nbd.ESHUTDOWN, "server is shutting down");
    }
    int allowed;
    boolean writes = false;
    switch (r.type()) {
      case Nbd.CMD_READ:
        allowed = structured ? Nbd.CMD_FLAG_DF : 0;
        break;
      case Nbd.CMD_WRITE:
      case Nbd.CMD_TRIM:
        allowed = Nbd.CMD_FLAG_FUA;
        writes = true;
        break;
      case Nbd.CMD_WRITE_ZEROES:
        allowed = Nbd.CMD_FLAG_FUA | Nbd.CMD_FLAG_NO_HOLE | Nbd.CMD_FLAG_FAST_ZERO;
        writes = true;
        break;
      case Nbd.CMD_FLUSH:
        allowed = 0;
        break;
      case Nbd.CMD_BLOCK_STATUS:
        if (!allocationContext) {
          return new Invalid(Nbd.EINVAL, "no metadata context was negotiated");
        }
        allowed = Nbd.CMD_FLAG_REQ_ONE;
        break;
      default:
        return new Invalid(Nbd.EINVAL, "unknown command " + r.type());
    }
    if ((r.flags() & ~allowed) != 0) {
      return new Invalid(Nbd.EINVAL, "unsupported flags 0x" + Integer.toHexString(r.flags())
          + " for command " + r.type());
    }
    if (writes && export.isReadOnly()) {
      return new Invalid(Nbd.EPERM, "export is read-only");
    }
    if (r.type() == Nbd.CMD_FLUSH) {
      return null;
    }
    if (r.type() == Nbd.CMD_READ && r.length() > Nbd.MAX_PAYLOAD) {
      return new Invalid(Nbd.EOVERFLOW, "read of " + r.length() + " bytes exceeds 32 MiB");
    }
    long size = volume.size();
    if (r.offset() < 0 || r.offset() > size || r.length() > size - r.offset()) {
      return new Invalid(Nbd.EINVAL, "range " + Long.toUnsignedString(r.offset()) + "+"
          + r.length() + " is outside the export of " + size + " bytes");
    }
    if (r.type() == Nbd.CMD_BLOCK_STATUS && r.length() == 0) {
      return new Invalid(Nbd.EINVAL, "block status of 0 bytes");
    }
    if (((r.offset() | r.length()) & (minimum - 1)) != 0) {
      return new Invalid(Nbd.EINVAL, "request not aligned to " + minimum + " bytes");
    }
    int zeroFlags = Nbd.CMD_FLAG_FAST_ZERO | Nbd.CMD_FLAG_NO_HOLE;
    if (r.type() == Nbd.CMD_WRITE_ZEROES && (r.flags() & zeroFlags) == zeroFlags) {
      return new Invalid(Nbd.ENOTSUP, "writing allocated zeroes is not fast");
    }
    return null;
  }

  private void read(Request r, long cost) {
    int len = (int) r.length();
    if (len == 0) {
      conn.reply(success(r.cookie()), cost);
      return;
    }
    int header = structured ? Nbd.CHUNK_HEADER_SIZE + 8 : Nbd.SIMPLE_REPLY_SIZE;
    ByteBuf buf;
    try {
      buf = conn.alloc().directBuffer(header + len);
    } catch (OutOfMemoryError e) {
      fail(r, Nbd.ENOMEM, "no memory for a read of " + len + " bytes", e, cost);
      return;
    }
    if (structured) {
      NbdCodec.writeChunkHeader(buf, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_OFFSET_DATA,
          r.cookie(), 8 + len);
      buf.writeLong(r.offset());
    } else {
      NbdCodec.writeSimpleHeader(buf, 0, r.cookie());
    }
    ByteBuffer dst = buf.nioBuffer(header, len);
    call(() -> volume.readAsync(r.offset(), dst)).whenComplete((v, t) -> {
      if (t != null) {
        buf.release();
        failWith(r, t, cost);
      } else {
        buf.writerIndex(header + len);
        conn.reply(buf, cost);
      }
    });
  }

  private void write(Request r, long cost) {
    ByteBuf payload = r.payload();
    CompletableFuture<Void> done;
    if (!payload.isReadable()) {
      done = CompletableFuture.completedFuture(null);
    } else {
      ByteBuffer src = payload.nioBuffer();
      done = call(() -> volume.writeAsync(r.offset(), src));
    }
    finish(r, cost, fua(r, done.whenComplete((v, t) -> payload.release())));
  }

  private CompletableFuture<Void> writeZeroes(Request r) {
    if ((r.flags() & Nbd.CMD_FLAG_NO_HOLE) == 0) {
      return call(() -> volume.writeZeroesAsync(r.offset(), r.length()));
    }
    return zeroChunks(r.offset(), r.offset() + r.length());
  }

  /** Writes real zero bytes over [from, to), one chunk after another. */
  private CompletableFuture<Void> zeroChunks(long from, long to) {
    if (from >= to) {
      return CompletableFuture.completedFuture(null);
    }
    int n = (int) Math.min(ZERO_CHUNK, to - from);
    ByteBuffer src = ZEROES.duplicate();
    src.limit(n);
    return call(() -> volume.writeAsync(from, src)).thenCompose(v -> zeroChunks(from + n, to));
  }

  private void blockStatus(Request r, long cost) {
    call(() -> volume.extentsAsync(r.offset(), r.length())).whenComplete((extents, t) -> {
      if (t != null) {
        failWith(r, t, cost);
        return;
      }
      List<int[]> descriptors = descriptors(r, extents);
      if (descriptors.isEmpty()) {
        fail(r, Nbd.EIO, "the volume reported no extents", null, cost);
        return;
      }
      conn.reply(NbdCodec.blockStatusChunk(conn.alloc(), r.cookie(), Nbd.BASE_ALLOCATION_ID,
          descriptors), cost);
    });
  }

  /** base:allocation descriptors covering the request from its offset, clamped to it. */
  private static List<int[]> descriptors(Request r, List<Extent> extents) {
    int max = (r.flags() & Nbd.CMD_FLAG_REQ_ONE) != 0 ? 1 : MAX_DESCRIPTORS;
    List<int[]> out = new ArrayList<>();
    long pos = r.offset();
    long end = r.offset() + r.length();
    for (Extent e : extents) {
      if (out.size() == max || pos >= end) {
        break;
      }
      long extentEnd = e.offset() + e.length();
      if (extentEnd <= pos || e.offset() > pos) {
        if (e.offset() > pos) {
          break;
        }
        continue;
      }
      long len = Math.min(extentEnd, end) - pos;
      int flags = e.hole() ? Nbd.STATE_HOLE | Nbd.STATE_ZERO : 0;
      if (!out.isEmpty() && out.get(out.size() - 1)[1] == flags) {
        int[] last = out.get(out.size() - 1);
        long merged = Integer.toUnsignedLong(last[0]) + len;
        last[0] = (int) merged;
      } else {
        out.add(new int[] {(int) len, flags});
      }
      pos += len;
    }
    return out;
  }

  private CompletableFuture<Void> fua(Request r, CompletableFuture<Void> f) {
    if ((r.flags() & Nbd.CMD_FLAG_FUA) == 0) {
      return f;
    }
    return f.thenCompose(v -> call(volume::flushAsync));
  }

  private void finish(Request r, long cost, CompletableFuture<Void> f) {
    f.whenComplete((v, t) -> {
      if (t != null) {
        failWith(r, t, cost);
      } else {
        conn.reply(NbdCodec.simpleReply(conn.alloc(), 0, r.cookie()), cost);
      }
    });
  }

  private ByteBuf success(long cookie) {
    return structured ? NbdCodec.noneChunk(conn.alloc(), cookie)
        : NbdCodec.simpleReply(conn.alloc(), 0, cookie);
  }

  private void failWith(Request r, Throwable t, long cost) {
    TorusException e = TorusException.of(t);
    fail(r, e.code().errno(), e.getMessage(), e, cost);
  }

  /**
   * Replies with an error (a structured error chunk when negotiated) and logs it at WARN,
   * rate-limited per export, with {@code cause} (null for a request refused before reaching
   * the volume); any thread.
   */
  void fail(Request r, int errno, String message, Throwable cause, long cost) {
    errors.warn("NBD export '" + export.name() + "': " + Nbd.commandName(r.type()) + " "
        + Long.toUnsignedString(r.offset()) + "+" + r.length() + " answered "
        + Nbd.errnoName(errno) + ": " + message, cause);
    ByteBuf b = structured ? NbdCodec.errorChunk(conn.alloc(), r.cookie(), errno, message)
        : NbdCodec.simpleReply(conn.alloc(), errno, r.cookie());
    conn.reply(b, cost);
  }

  /** Runs a volume call, turning a synchronous throw into a failed future. */
  private static <T> CompletableFuture<T> call(Supplier<CompletableFuture<T>> s) {
    try {
      CompletableFuture<T> f = s.get();
      return f != null ? f : CompletableFuture.failedFuture(
          new TorusException(io.torus.ErrorCode.EIO, "volume returned no future"));
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }
}
