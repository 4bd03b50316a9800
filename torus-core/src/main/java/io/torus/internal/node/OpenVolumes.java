package io.torus.internal.node;

import io.torus.LeaseLostException;
import io.torus.internal.volume.VolumeEngine;
import io.torus.spi.BlockRef;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * The volume handles a node has open: what garbage collection must keep (their roots), what
 * a resize grows, what a lost metadata session fences and what closing the node closes.
 *
 * <p>Thread-safe: a concurrent set; a handle removes itself when it closes.
 */
final class OpenVolumes {
  private final Map<VolumeEngine, Boolean> open = new ConcurrentHashMap<>();

  void add(VolumeEngine v) {
    open.put(v, Boolean.TRUE);
  }

  void remove(VolumeEngine v) {
    open.remove(v);
  }

  int size() {
    return open.size();
  }

  /** The roots of every open handle (blocks a collection must not delete). */
  List<BlockRef> roots() {
    List<BlockRef> roots = new ArrayList<>();
    for (VolumeEngine v : open.keySet()) {
      BlockRef r = v.root();
      if (r != null) {
        roots.add(r);
      }
    }
    return roots;
  }

  /** Grows every open handle of volume {@code id} to {@code size} bytes. */
  void grow(long id, long size) {
    for (VolumeEngine v : open.keySet()) {
      if (v.id() == id) {
        v.grow(size);
      }
    }
  }

  /** Applies {@code qos} to every open handle of volume {@code id} (snapshots included). */
  void setQos(long id, io.torus.VolumeQos qos) {
    for (VolumeEngine v : open.keySet()) {
      if (v.id() == id) {
        v.setQos(qos);
      }
    }
  }

  /**
   * Reads the I/O limits of every volume with a handle open here through {@code lookup} (by
   * name; one call per volume) and applies them to its handles. A volume that cannot be read
   * keeps its limits until the next time; the first failure is thrown after the others were
   * tried.
   */
  void refreshQos(java.util.function.Function<String, java.util.Optional<io.torus.VolumeInfo>>
      lookup) {
    Map<Long, String> names = new java.util.HashMap<>();
    for (VolumeEngine v : open.keySet()) {
      if (v.name().indexOf('@') < 0) { // a snapshot's handle is named VOLUME@SNAPSHOT
        names.putIfAbsent(v.id(), v.name());
      }
    }
    RuntimeException first = null;
    for (Map.Entry<Long, String> e : names.entrySet()) {
      try {
        lookup.apply(e.getValue()).filter(i -> i.id() == e.getKey())
            .ifPresent(i -> setQos(i.id(), i.qos()));
      } catch (RuntimeException x) {
        first = first == null ? x : first;
      }
    }
    if (first != null) {
      throw first;
    }
  }

  /**
   * Commits into the head what each writer handle of volume {@code id} flushed through its
   * journal, so that a snapshot or a new handle reading the head sees it.
   */
  void commitHeads(long id) {
    for (VolumeEngine v : open.keySet()) {
      if (v.id() == id && !v.isReadOnly()) {
        v.commitHead();
      }
    }
  }

  /** Commits the flush journal of every writer handle that stopped flushing into its head. */
  void commitIdleHeads() {
    for (VolumeEngine v : open.keySet()) {
      v.commitHeadIfIdle();
    }
  }

  /** Fences every handle (the metadata session that held their locks ended). */
  void fenceAll(LeaseLostException cause) {
    for (VolumeEngine v : open.keySet()) {
      v.fence(cause);
    }
  }

  /** Closes every handle, giving each failure to {@code failed}. */
  void closeAll(Consumer<RuntimeException> failed) {
    for (VolumeEngine v : new ArrayList<>(open.keySet())) {
      try {
        v.close();
      } catch (RuntimeException e) {
        failed.accept(e);
      }
    }
  }
}
