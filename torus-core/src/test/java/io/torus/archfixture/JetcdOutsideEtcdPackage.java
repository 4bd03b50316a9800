package io.torus.archfixture;

import io.etcd.jetcd.ByteSequence;

/** Breaks the etcd rule: jetcd outside {@code io.torus.internal.meta.etcd}. */
public final class JetcdOutsideEtcdPackage {
  private JetcdOutsideEtcdPackage() {}

  /** The key as etcd bytes. */
  public static ByteSequence key(String key) {
    return ByteSequence.from(key.getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }
}
