package io.torus.nbd.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.torus.nbd.NbdExport;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The fixed newstyle handshake after the greeting: frames the client flags and the options
 * out of the connection's input, answers one option at a time and tells the connection when
 * to enter transmission.
 *
 * <pre>
 * Client flags (4 bytes): u32, FIXED_NEWSTYLE set, NO_ZEROES optional, nothing else
 *
 * Option request (16 + n bytes)          INFO / GO data (n bytes)
 * +0  u64 IHAVEOPT                       +0    u32 name length L (at most 4096)
 * +8  u32 option                         +4    L   export name (UTF-8)
 * +12 u32 n  length of the data          +4+L  u16 k  number of info requests
 * +16 n   data                           +6+L  k x u16 NBD_INFO_* type
 *
 * LIST_META_CONTEXT / SET_META_CONTEXT data
 * +0  u32 name length L, L bytes export name, u32 q queries, q x (u32 length, query)
 * </pre>
 *
 * <p>Concurrency: event loop of the connection only. Malformed option data gets
 * {@code NBD_REP_ERR_INVALID} and the handshake goes on; unknown options get
 * {@code NBD_REP_ERR_UNSUP}.
 *
 * <p>TLS ({@code NBD_OPT_STARTTLS}, no data): if the server offers TLS it answers ACK and the
 * connection puts TLS under the byte stream; haggling goes on inside it, with whatever was
 * negotiated in plaintext (structured replies, the meta context) forgotten, so an attacker
 * in the middle cannot inject state (CVE-2021-3716 in nbdkit). A second STARTTLS gets
 * ERR_INVALID; without TLS settings STARTTLS gets ERR_POLICY. In forced mode every option
 * before TLS other than ABORT and STARTTLS gets ERR_TLS_REQD, and EXPORT_NAME, which has no
 * error reply, closes the connection.
 */
final class OptionHandler {
  /** Largest option payload buffered; longer options get ERR_TOO_BIG. */
  static final int MAX_OPTION_LENGTH = 64 * 1024;

  private final NbdConnection conn;
  private final ServerState server;
  private boolean noZeroes;
  private boolean tlsActive;
  private boolean structured;
  /** Export named in the last SET_META_CONTEXT that selected base:allocation, else null. */
  private String allocationContextExport;

  OptionHandler(NbdConnection conn, ServerState server) {
    this.conn = conn;
    this.server = server;
  }

  private ByteBufAllocator alloc() {
    return conn.alloc();
  }

  /** Sends the server's greeting, which opens the handshake. */
  void greet() {
    conn.send(NbdCodec.greeting(alloc()));
  }

  /**
   * Reads the client flags from {@code in}: false if fewer than 4 bytes are buffered, or if
   * the flags are unsupported (the connection is closed for the violation).
   */
  boolean decodeClientFlags(ByteBuf in) {
    if (in.readableBytes() < 4) {
      return false;
    }
    int flags = in.readInt();
    if ((flags & ~(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES)) != 0
        || (flags & Nbd.FLAG_FIXED_NEWSTYLE) == 0) {
      return conn.violation("unsupported client flags 0x" + Integer.toHexString(flags));
    }
    noZeroes = (flags & Nbd.FLAG_NO_ZEROES) != 0;
    return true;
  }

  /**
   * Frames one option from {@code in} and answers it; false if it is not all buffered yet or
   * was a violation (the connection is closed). The data of an option longer than
   * {@link #MAX_OPTION_LENGTH} is never buffered: it gets ERR_TOO_BIG and is discarded as it
   * arrives (an EXPORT_NAME that long is a violation, it has no error reply).
   */
  boolean decodeOption(ByteBuf in) {
    if (in.readableBytes() < Nbd.OPTION_HEADER_SIZE) {
      return false;
    }
    int r = in.readerIndex();
    if (in.getLong(r) != Nbd.IHAVEOPT) {
      return conn.violation("bad option magic");
    }
    int option = in.getInt(r + 8);
    long length = in.getUnsignedInt(r + 12);
    if (length > MAX_OPTION_LENGTH) {
      if (option == Nbd.OPT_EXPORT_NAME) {
        return conn.violation("EXPORT_NAME of " + length + " bytes");
      }
      in.skipBytes(Nbd.OPTION_HEADER_SIZE);
      error(option, Nbd.REP_ERR_TOO_BIG, "option data too long: " + length);
      conn.discard(length);
      return true;
    }
    if (in.readableBytes() < Nbd.OPTION_HEADER_SIZE + length) {
      return false;
    }
    in.skipBytes(Nbd.OPTION_HEADER_SIZE);
    ByteBuf data = in.readSlice((int) length);
    handle(option, data);
    return true;
  }

  /** Answers one option whose data is {@code data} (exactly the option's length). */
  void handle(int option, ByteBuf data) {
    ServerTls tls = server.tls();
    if (tls != null && tls.forced() && !tlsActive && option != Nbd.OPT_ABORT
        && option != Nbd.OPT_STARTTLS) {
      if (option == Nbd.OPT_EXPORT_NAME) {
        conn.violation("EXPORT_NAME before STARTTLS on a server that requires TLS");
      } else {
        error(option, Nbd.REP_ERR_TLS_REQD, "TLS is required: send STARTTLS first");
      }
      return;
    }
    switch (option) {
      case Nbd.OPT_EXPORT_NAME:
        exportName(data);
        break;
      case Nbd.OPT_ABORT:
        conn.sendAndClose(NbdCodec.optionReply(alloc(), option, Nbd.REP_ACK, null));
        break;
      case Nbd.OPT_LIST:
        list(data);
        break;
      case Nbd.OPT_INFO:
      case Nbd.OPT_GO:
        infoOrGo(option, data);
        break;
      case Nbd.OPT_STRUCTURED_REPLY:
        if (data.isReadable()) {
          error(option, Nbd.REP_ERR_INVALID, "STRUCTURED_REPLY takes no data");
        } else {
          structured = true;
          conn.send(NbdCodec.optionReply(alloc(), option, Nbd.REP_ACK, null));
        }
        break;
      case Nbd.OPT_LIST_META_CONTEXT:
      case Nbd.OPT_SET_META_CONTEXT:
        metaContext(option, data);
        break;
      case Nbd.OPT_STARTTLS:
        startTls(data);
        break;
      default:
        error(option, Nbd.REP_ERR_UNSUP, "unsupported option " + option);
    }
  }

  /** Whether TLS has been started on this connection (the handshake may still be running). */
  boolean tlsActive() {
    return tlsActive;
  }

  private void startTls(ByteBuf data) {
    ServerTls tls = server.tls();
    if (tls == null) {
      error(Nbd.OPT_STARTTLS, Nbd.REP_ERR_POLICY, "TLS is not offered by this server");
    } else if (tlsActive) {
      error(Nbd.OPT_STARTTLS, Nbd.REP_ERR_INVALID, "TLS is already active");
    } else if (data.isReadable()) {
      error(Nbd.OPT_STARTTLS, Nbd.REP_ERR_INVALID, "STARTTLS takes no data");
    } else {
      tlsActive = true;
      structured = false;
      allocationContextExport = null;
      conn.send(NbdCodec.optionReply(alloc(), Nbd.OPT_STARTTLS, Nbd.REP_ACK, null));
      conn.startTls(tls);
    }
  }

  private void error(int option, int type, String msg) {
    conn.send(NbdCodec.optionError(alloc(), option, type, msg));
  }

  private void exportName(ByteBuf data) {
    String name = utf8(data, data.readableBytes());
    NbdExport export = name == null ? null : server.find(name);
    if (export == null) {
      conn.close();
      return;
    }
    boolean allocation = structured && name.equals(allocationContextExport);
    conn.send(NbdCodec.exportNameReply(alloc(), export.volume().size(),
        transmissionFlags(export), noZeroes));
    conn.startTransmission(export, structured, allocation, false);
  }

  private void list(ByteBuf data) {
    if (data.isReadable()) {
      error(Nbd.OPT_LIST, Nbd.REP_ERR_INVALID, "LIST takes no data");
      return;
    }
    for (NbdExport e : server.exports()) {
      conn.send(NbdCodec.serverReply(alloc(), e.name(), e.description()));
    }
    conn.send(NbdCodec.optionReply(alloc(), Nbd.OPT_LIST, Nbd.REP_ACK, null));
  }

  private void infoOrGo(int option, ByteBuf data) {
    String name = readName(data);
    if (name == null || data.readableBytes() < 2) {
      error(option, Nbd.REP_ERR_INVALID, "malformed INFO/GO data");
      return;
    }
    int count = data.readUnsignedShort();
    if (data.readableBytes() != 2L * count) {
      error(option, Nbd.REP_ERR_INVALID, "INFO/GO request count does not match its length");
      return;
    }
    boolean wantName = false;
    boolean wantDescription = false;
    boolean wantBlockSize = false;
    for (int i = 0; i < count; i++) {
      int t = data.readUnsignedShort();
      wantName |= t == Nbd.INFO_NAME;
      wantDescription |= t == Nbd.INFO_DESCRIPTION;
      wantBlockSize |= t == Nbd.INFO_BLOCK_SIZE;
    }
    NbdExport export = server.find(name);
    if (export == null) {
      error(option, Nbd.REP_ERR_UNKNOWN, "no such export: " + name);
      return;
    }
    if (server.isShuttingDown()) {
      error(option, Nbd.REP_ERR_SHUTDOWN, "server is shutting down");
      return;
    }
    conn.send(NbdCodec.infoExport(alloc(), option, export.volume().size(),
        transmissionFlags(export)));
    if (wantName) {
      conn.send(NbdCodec.infoText(alloc(), option, Nbd.INFO_NAME, export.name()));
    }
    if (wantDescription && !export.description().isEmpty()) {
      conn.send(NbdCodec.infoText(alloc(), option, Nbd.INFO_DESCRIPTION,
          export.description()));
    }
    int min = wantBlockSize ? export.minimumBlockSize() : 1;
    int preferred = Math.max(Math.max(min, 512),
        Math.min(export.volume().blockSize(), Nbd.MAX_PAYLOAD));
    conn.send(NbdCodec.infoBlockSize(alloc(), option, min, preferred, Nbd.MAX_PAYLOAD));
    conn.send(NbdCodec.optionReply(alloc(), option, Nbd.REP_ACK, null));
    if (option == Nbd.OPT_GO) {
      boolean allocation = structured && name.equals(allocationContextExport);
      conn.startTransmission(export, structured, allocation, min > 1);
    }
  }

  private void metaContext(int option, ByteBuf data) {
    if (!structured) {
      error(option, Nbd.REP_ERR_INVALID, "negotiate STRUCTURED_REPLY first");
      return;
    }
    String name = readName(data);
    if (name == null || data.readableBytes() < 4) {
      error(option, Nbd.REP_ERR_INVALID, "malformed meta context data");
      return;
    }
    long queryCount = data.readUnsignedInt();
    List<String> queries = new ArrayList<>();
    for (long i = 0; i < queryCount; i++) {
      if (data.readableBytes() < 4) {
        error(option, Nbd.REP_ERR_INVALID, "meta context query count exceeds the data");
        return;
      }
      long len = data.readUnsignedInt();
      if (len > data.readableBytes()) {
        error(option, Nbd.REP_ERR_INVALID, "meta context query longer than the data");
        return;
      }
      String q = utf8(data, (int) len);
      if (q == null) {
        error(option, Nbd.REP_ERR_INVALID, "meta context query is not UTF-8");
        return;
      }
      queries.add(q);
    }
    if (data.isReadable()) {
      error(option, Nbd.REP_ERR_INVALID, "trailing bytes after meta context queries");
      return;
    }
    if (server.find(name) == null) {
      error(option, Nbd.REP_ERR_UNKNOWN, "no such export: " + name);
      return;
    }
    boolean match = false;
    if (option == Nbd.OPT_LIST_META_CONTEXT) {
      match = queries.isEmpty()
          || queries.stream().anyMatch(q -> q.equals("base:") || q.equals(Nbd.BASE_ALLOCATION));
    } else {
      match = queries.contains(Nbd.BASE_ALLOCATION);
      allocationContextExport = match ? name : null;
    }
    if (match) {
      conn.send(NbdCodec.metaContext(alloc(), option, Nbd.BASE_ALLOCATION_ID,
          Nbd.BASE_ALLOCATION));
    }
    conn.send(NbdCodec.optionReply(alloc(), option, Nbd.REP_ACK, null));
  }

  /** Reads u32 length + UTF-8 name; null if the length is out of range or not UTF-8. */
  private static String readName(ByteBuf data) {
    if (data.readableBytes() < 4) {
      return null;
    }
    long len = data.readUnsignedInt();
    if (len > Nbd.MAX_NAME_LENGTH || len > data.readableBytes()) {
      return null;
    }
    return utf8(data, (int) len);
  }

  private static String utf8(ByteBuf data, int len) {
    byte[] b = new byte[len];
    data.readBytes(b);
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(java.nio.ByteBuffer.wrap(b)).toString();
    } catch (CharacterCodingException e) {
      return null;
    }
  }

  /** Transmission flags advertised for {@code export} on this connection. */
  private int transmissionFlags(NbdExport export) {
    int f = Nbd.TF_HAS_FLAGS | Nbd.TF_SEND_FLUSH | Nbd.TF_CAN_MULTI_CONN;
    if (export.isReadOnly()) {
      f |= Nbd.TF_READ_ONLY;
    } else {
      f |= Nbd.TF_SEND_FUA | Nbd.TF_SEND_TRIM | Nbd.TF_SEND_WRITE_ZEROES
          | Nbd.TF_SEND_FAST_ZERO;
    }
    if (structured) {
      f |= Nbd.TF_SEND_DF;
    }
    return f;
  }
}

