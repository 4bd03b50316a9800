package io.torus.nbd.internal;

/**
 * Numbers of the NBD protocol (fixed newstyle), as defined by the NetworkBlockDevice
 * project's {@code doc/proto.md}. All integers on the wire are big-endian.
 */
public final class Nbd {
  private Nbd() {}

  /** First 8 bytes the server sends: "NBDMAGIC". */
  public static final long NBDMAGIC = 0x4e42444d41474943L;
  /** "IHAVEOPT": follows NBDMAGIC in the greeting and starts every client option. */
  public static final long IHAVEOPT = 0x49484156454F5054L;
  /** Starts every option reply. */
  public static final long OPTION_REPLY_MAGIC = 0x3e889045565a9L;
  /** Starts every transmission request. */
  public static final int REQUEST_MAGIC = 0x25609513;
  /** Starts every simple reply. */
  public static final int SIMPLE_REPLY_MAGIC = 0x67446698;
  /** Starts every structured reply chunk. */
  public static final int STRUCTURED_REPLY_MAGIC = 0x668e33ef;

  // Handshake flags (server, 16 bit) and client flags (32 bit): same bit meanings.
  public static final int FLAG_FIXED_NEWSTYLE = 1;
  public static final int FLAG_NO_ZEROES = 1 << 1;

  // Options.
  public static final int OPT_EXPORT_NAME = 1;
  public static final int OPT_ABORT = 2;
  public static final int OPT_LIST = 3;
  public static final int OPT_STARTTLS = 5;
  public static final int OPT_INFO = 6;
  public static final int OPT_GO = 7;
  public static final int OPT_STRUCTURED_REPLY = 8;
  public static final int OPT_LIST_META_CONTEXT = 9;
  public static final int OPT_SET_META_CONTEXT = 10;

  // Option reply types.
  public static final int REP_ACK = 1;
  public static final int REP_SERVER = 2;
  public static final int REP_INFO = 3;
  public static final int REP_META_CONTEXT = 4;
  public static final int REP_ERR_UNSUP = 0x80000001;
  public static final int REP_ERR_POLICY = 0x80000002;
  public static final int REP_ERR_INVALID = 0x80000003;
  public static final int REP_ERR_PLATFORM = 0x80000004;
  public static final int REP_ERR_TLS_REQD = 0x80000005;
  public static final int REP_ERR_UNKNOWN = 0x80000006;
  public static final int REP_ERR_SHUTDOWN = 0x80000007;
  public static final int REP_ERR_BLOCK_SIZE_REQD = 0x80000008;
  public static final int REP_ERR_TOO_BIG = 0x80000009;

  // NBD_INFO_* types.
  public static final int INFO_EXPORT = 0;
  public static final int INFO_NAME = 1;
  public static final int INFO_DESCRIPTION = 2;
  public static final int INFO_BLOCK_SIZE = 3;

  // Transmission flags (16 bit).
  public static final int TF_HAS_FLAGS = 1;
  public static final int TF_READ_ONLY = 1 << 1;
  public static final int TF_SEND_FLUSH = 1 << 2;
  public static final int TF_SEND_FUA = 1 << 3;
  public static final int TF_ROTATIONAL = 1 << 4;
  public static final int TF_SEND_TRIM = 1 << 5;
  public static final int TF_SEND_WRITE_ZEROES = 1 << 6;
  public static final int TF_SEND_DF = 1 << 7;
  public static final int TF_CAN_MULTI_CONN = 1 << 8;
  public static final int TF_SEND_FAST_ZERO = 1 << 11;

  // Commands.
  public static final int CMD_READ = 0;
  public static final int CMD_WRITE = 1;
  public static final int CMD_DISC = 2;
  public static final int CMD_FLUSH = 3;
  public static final int CMD_TRIM = 4;
  public static final int CMD_CACHE = 5;
  public static final int CMD_WRITE_ZEROES = 6;
  public static final int CMD_BLOCK_STATUS = 7;

  // Command flags (16 bit).
  public static final int CMD_FLAG_FUA = 1;
  public static final int CMD_FLAG_NO_HOLE = 1 << 1;
  public static final int CMD_FLAG_DF = 1 << 2;
  public static final int CMD_FLAG_REQ_ONE = 1 << 3;
  public static final int CMD_FLAG_FAST_ZERO = 1 << 4;

  // Structured reply chunk flags and types.
  public static final int REPLY_FLAG_DONE = 1;
  public static final int REPLY_TYPE_NONE = 0;
  public static final int REPLY_TYPE_OFFSET_DATA = 1;
  public static final int REPLY_TYPE_OFFSET_HOLE = 2;
  public static final int REPLY_TYPE_BLOCK_STATUS = 5;
  public static final int REPLY_TYPE_ERROR = 0x8001;
  public static final int REPLY_TYPE_ERROR_OFFSET = 0x8002;

  // base:allocation descriptor flags.
  public static final int STATE_HOLE = 1;
  public static final int STATE_ZERO = 2;

  /** The only metadata context served. */
  public static final String BASE_ALLOCATION = "base:allocation";
  /** Context id given to {@link #BASE_ALLOCATION} when a client selects it. */
  public static final int BASE_ALLOCATION_ID = 1;

  // Errno values carried by replies.
  public static final int EPERM = 1;
  public static final int EIO = 5;
  public static final int ENOMEM = 12;
  public static final int EINVAL = 22;
  public static final int ENOSPC = 28;
  public static final int EOVERFLOW = 75;
  public static final int ENOTSUP = 95;
  public static final int ESHUTDOWN = 108;

  /** Size of a transmission request header. */
  public static final int REQUEST_HEADER_SIZE = 28;
  /** Size of a simple reply header. */
  public static final int SIMPLE_REPLY_SIZE = 16;
  /** Size of a structured reply chunk header. */
  public static final int CHUNK_HEADER_SIZE = 20;
  /** Size of an option header (IHAVEOPT, option, length). */
  public static final int OPTION_HEADER_SIZE = 16;
  /** Longest export name the protocol allows. */
  public static final int MAX_NAME_LENGTH = 4096;
  /** Largest payload (READ or WRITE length) served: 32 MiB. */
  public static final int MAX_PAYLOAD = 32 << 20;

  /** The name of a command type, for logs ("READ", "CMD_42" if unknown). */
  static String commandName(int type) {
    return switch (type) {
      case CMD_READ -> "READ";
      case CMD_WRITE -> "WRITE";
      case CMD_DISC -> "DISC";
      case CMD_FLUSH -> "FLUSH";
      case CMD_TRIM -> "TRIM";
      case CMD_CACHE -> "CACHE";
      case CMD_WRITE_ZEROES -> "WRITE_ZEROES";
      case CMD_BLOCK_STATUS -> "BLOCK_STATUS";
      default -> "CMD_" + type;
    };
  }

  /** The name of an NBD errno, for logs ("EIO", "errno 42" if unknown). */
  static String errnoName(int errno) {
    return switch (errno) {
      case EPERM -> "EPERM";
      case EIO -> "EIO";
      case ENOMEM -> "ENOMEM";
      case EINVAL -> "EINVAL";
      case ENOSPC -> "ENOSPC";
      case EOVERFLOW -> "EOVERFLOW";
      case ENOTSUP -> "ENOTSUP";
      case ESHUTDOWN -> "ESHUTDOWN";
      default -> "errno " + errno;
    };
  }
}
