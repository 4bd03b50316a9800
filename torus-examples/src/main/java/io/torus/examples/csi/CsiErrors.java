package io.torus.examples.csi;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.torus.EncryptionKeyException;
import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.VolumeExistsException;
import io.torus.VolumeLockedException;
import io.torus.VolumeNotFoundException;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * CSI status codes for what fails, and the one place a call's outcome reaches gRPC: a result,
 * or the status its failure maps to. Never a success for a failed step. Messages never hold a
 * secret (see {@link SecretKek}).
 *
 * <table>
 *   <caption>Torus failures as CSI status codes</caption>
 *   <tr><th>failure</th><th>status</th></tr>
 *   <tr><td>{@link VolumeNotFoundException}</td><td>NOT_FOUND</td></tr>
 *   <tr><td>{@link VolumeExistsException}</td><td>ALREADY_EXISTS</td></tr>
 *   <tr><td>{@link VolumeLockedException} (open for writing elsewhere)</td>
 *       <td>FAILED_PRECONDITION</td></tr>
 *   <tr><td>{@link EncryptionKeyException} (EPERM: no key, or another key, for an encrypted
 *       volume)</td><td>PERMISSION_DENIED</td></tr>
 *   <tr><td>EINVAL</td><td>INVALID_ARGUMENT</td></tr>
 *   <tr><td>ENOSPC</td><td>RESOURCE_EXHAUSTED</td></tr>
 *   <tr><td>retryable, ESHUTDOWN</td><td>UNAVAILABLE</td></tr>
 *   <tr><td>anything else</td><td>INTERNAL</td></tr>
 * </table>
 */
final class CsiErrors {
  private static final Logger log = LoggerFactory.getLogger(CsiErrors.class);

  private CsiErrors() {}

  static StatusRuntimeException invalid(String message) {
    return Status.INVALID_ARGUMENT.withDescription(message).asRuntimeException();
  }

  static StatusRuntimeException notFound(String message) {
    return Status.NOT_FOUND.withDescription(message).asRuntimeException();
  }

  static StatusRuntimeException exists(String message) {
    return Status.ALREADY_EXISTS.withDescription(message).asRuntimeException();
  }

  static StatusRuntimeException precondition(String message) {
    return Status.FAILED_PRECONDITION.withDescription(message).asRuntimeException();
  }

  static StatusRuntimeException outOfRange(String message) {
    return Status.OUT_OF_RANGE.withDescription(message).asRuntimeException();
  }

  static StatusRuntimeException internal(String message) {
    return Status.INTERNAL.withDescription(message).asRuntimeException();
  }

  /** Throws INVALID_ARGUMENT naming {@code field} if {@code value} is empty. */
  static String required(String field, String value) {
    if (value == null || value.isEmpty()) {
      throw invalid(field + " is required");
    }
    return value;
  }

  /** The status {@code t} maps to (see the class table). */
  static StatusRuntimeException of(Throwable t) {
    if (t instanceof StatusRuntimeException s) {
      return s;
    }
    if (t instanceof VolumeNotFoundException) {
      return notFound(t.getMessage());
    }
    if (t instanceof VolumeExistsException) {
      return exists(t.getMessage());
    }
    if (t instanceof VolumeLockedException) {
      return precondition(t.getMessage());
    }
    if (t instanceof EncryptionKeyException) {
      return SecretKek.denied(t.getMessage());
    }
    if (t instanceof TorusException e) {
      if (e.code() == ErrorCode.EINVAL) {
        return invalid(e.getMessage());
      }
      if (e.code() == ErrorCode.ENOSPC) {
        return Status.RESOURCE_EXHAUSTED.withDescription(e.getMessage()).asRuntimeException();
      }
      if (e.isRetryable() || e.code() == ErrorCode.ESHUTDOWN) {
        return Status.UNAVAILABLE.withDescription(e.getMessage()).asRuntimeException();
      }
      return Status.INTERNAL.withDescription(e.code() + ": " + e.getMessage())
          .asRuntimeException();
    }
    return Status.INTERNAL.withDescription(String.valueOf(t)).withCause(t).asRuntimeException();
  }

  /**
   * Runs {@code call} on the calling (gRPC executor) thread and completes {@code observer}
   * with its result, or with the status its failure maps to. {@code method} names the call in
   * the log line a failure other than a caller's mistake leaves.
   */
  static <T> void answer(String method, StreamObserver<T> observer, Callable<T> call) {
    T result;
    try {
      result = call.call();
    } catch (Throwable t) {
      StatusRuntimeException s = of(t);
      Status.Code c = s.getStatus().getCode();
      if (c == Status.Code.INTERNAL || c == Status.Code.UNAVAILABLE) {
        log.warn("{} failed: {}", method, s.getStatus(), t);
      } else {
        log.debug("{}: {}", method, s.getStatus());
      }
      observer.onError(s);
      if (t instanceof Error e && !(t instanceof AssertionError)) {
        throw e;
      }
      return;
    }
    observer.onNext(result);
    observer.onCompleted();
  }
}
