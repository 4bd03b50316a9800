package io.torus.archfixture;

import io.grpc.Status;

/** Breaks the etcd rule: gRPC outside {@code io.torus.internal.meta.etcd}. */
public final class GrpcOutsideEtcdPackage {
  private GrpcOutsideEtcdPackage() {}

  /** Whether the failure was etcd being unreachable. */
  public static boolean unavailable(Throwable t) {
    return Status.fromThrowable(t).getCode() == Status.Code.UNAVAILABLE;
  }
}
