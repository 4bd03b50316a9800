package io.torus.nbd;

import io.torus.BlockVolume;
import io.torus.TorusException;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * One volume as an {@link NbdServer} offers it: its export name, whether clients may write,
 * a description shown by {@code NBD_OPT_LIST} and {@code NBD_OPT_INFO}, the smallest block
 * size clients must align to, and whether the server closes the volume when it stops.
 *
 * <p>Immutable and thread-safe. Every connection to the export shares the one
 * {@link BlockVolume}, which is why the server advertises {@code NBD_FLAG_CAN_MULTI_CONN}.
 *
 * <p><b>Ownership.</b> By default the caller owns the volume: the server flushes it when it
 * stops but never closes it. With {@link Builder#closeVolumeOnStop(boolean) closeVolumeOnStop}
 * the server closes it (which flushes it) after the last connection is gone.
 */
public final class NbdExport {
  /** Minimum block size that lets clients send any byte offset and length. */
  public static final int BYTE_ALIGNED = 1;
  /** Minimum block size of a classic disk sector. */
  public static final int SECTOR_ALIGNED = 512;

  private final String name;
  private final BlockVolume volume;
  private final boolean readOnly;
  private final String description;
  private final int minimumBlockSize;
  private final boolean closeVolumeOnStop;

  private NbdExport(Builder b) {
    this.name = b.name;
    this.volume = b.volume;
    this.readOnly = b.readOnly || b.volume.isReadOnly();
    this.description = b.description;
    this.minimumBlockSize = b.minimumBlockSize;
    this.closeVolumeOnStop = b.closeVolumeOnStop;
  }

  /**
   * A builder for an export named {@code name} (UTF-8, at most 4096 bytes; may be empty) of
   * {@code volume}.
   *
   * @throws TorusException (EINVAL) if the name is too long
   * @throws NullPointerException if an argument is null
   */
  public static Builder builder(String name, BlockVolume volume) {
    return new Builder(name, volume);
  }

  /** The export name clients ask for. */
  public String name() {
    return name;
  }

  /** The volume served. */
  public BlockVolume volume() {
    return volume;
  }

  /** Whether clients are refused writes (also true if the volume itself is read-only). */
  public boolean isReadOnly() {
    return readOnly;
  }

  /** The description; empty if none. */
  public String description() {
    return description;
  }

  /** The minimum block size advertised: {@link #BYTE_ALIGNED} or {@link #SECTOR_ALIGNED}. */
  public int minimumBlockSize() {
    return minimumBlockSize;
  }

  /** Whether the server closes the volume when it stops. */
  public boolean closeVolumeOnStop() {
    return closeVolumeOnStop;
  }

  @Override
  public String toString() {
    return "NbdExport[" + name + " -> " + volume.name() + (readOnly ? ", ro" : ", rw") + "]";
  }

  /** Builds an {@link NbdExport}. Not thread-safe. */
  public static final class Builder {
    private final String name;
    private final BlockVolume volume;
    private boolean readOnly;
    private String description = "";
    private int minimumBlockSize = BYTE_ALIGNED;
    private boolean closeVolumeOnStop;

    private Builder(String name, BlockVolume volume) {
      this.name = Objects.requireNonNull(name, "name");
      this.volume = Objects.requireNonNull(volume, "volume");
      int n = name.getBytes(StandardCharsets.UTF_8).length;
      if (n > 4096) {
        throw TorusException.invalid("export name longer than 4096 bytes: " + n);
      }
    }

    /** Refuse writes (EPERM) and advertise {@code NBD_FLAG_READ_ONLY}. Default false. */
    public Builder readOnly(boolean readOnly) {
      this.readOnly = readOnly;
      return this;
    }

    /** Text shown to clients that list exports or ask for info. Default empty. */
    public Builder description(String description) {
      String d = Objects.requireNonNull(description, "description");
      if (d.getBytes(StandardCharsets.UTF_8).length > 4096) {
        throw TorusException.invalid("description longer than 4096 bytes");
      }
      this.description = d;
      return this;
    }

    /**
     * The minimum block size advertised in {@code NBD_INFO_BLOCK_SIZE}: 1 (default; any
     * offset and length work) or 512. With 512, a client that asked for block sizes gets
     * EINVAL for requests whose offset or length is not a multiple of 512.
     */
    public Builder minimumBlockSize(int bytes) {
      if (bytes != BYTE_ALIGNED && bytes != SECTOR_ALIGNED) {
        throw TorusException.invalid("minimum block size must be 1 or 512: " + bytes);
      }
      this.minimumBlockSize = bytes;
      return this;
    }

    /**
     * Whether the server closes the volume (flushing it) when it stops. Default false: the
     * caller closes it, after the server has stopped.
     */
    public Builder closeVolumeOnStop(boolean close) {
      this.closeVolumeOnStop = close;
      return this;
    }

    /** The export. */
    public NbdExport build() {
      return new NbdExport(this);
    }
  }
}
