package io.torus;

/**
 * What went wrong, in the vocabulary block devices use. Each code maps one-to-one to the
 * errno an NBD server sends back ({@link #errno()}), so an error keeps its meaning from a
 * store up to a remote client.
 */
public enum ErrorCode {
  /** Not permitted: writing a read-only volume, or a lock held by another writer. */
  EPERM(1),
  /** An I/O error: a block could not be read or written, a flush could not commit. */
  EIO(5),
  /** Not enough memory to serve the request. */
  ENOMEM(12),
  /** Invalid argument: bad offset, length, name, size or option. */
  EINVAL(22),
  /** No space left: a store or the cluster is full. */
  ENOSPC(28),
  /** A value is too large for the operation (for example a request past a size limit). */
  EOVERFLOW(75),
  /** The operation is not supported by this volume or store. */
  ENOTSUP(95),
  /** The volume or node is shutting down, closed or fenced. */
  ESHUTDOWN(108);

  private final int errno;

  ErrorCode(int errno) {
    this.errno = errno;
  }

  /** The Linux errno value of this code, as the NBD protocol transmits it. */
  public int errno() {
    return errno;
  }
}
