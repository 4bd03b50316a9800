package io.torus.internal.layer;

import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.internal.storage.ForwardingBlockStore;
import io.torus.spi.BlockRef;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A memory store whose puts, gets or flushes can be held at a gate: a held call waits (on the
 * peer's worker thread) until the gate opens, at most 30 s, then fails. Lets a test keep a
 * peer from answering without touching the network. Thread-safe.
 */
final class GatedBlockStore extends ForwardingBlockStore {
  /** The calls a gate can hold. */
  enum Op { PUT, GET, FLUSH }

  private final Map<Op, CountDownLatch> gates = new ConcurrentHashMap<>();
  private final Map<Op, CountDownLatch> entered = new ConcurrentHashMap<>();

  GatedBlockStore(String name) {
    super(name, 64L << 20);
  }

  /** From now on calls of {@code op} wait at the gate. */
  void hold(Op op) {
    entered.put(op, new CountDownLatch(1));
    gates.put(op, new CountDownLatch(1));
  }

  /** Lets every held and later call of {@code op} through. */
  void open(Op op) {
    CountDownLatch g = gates.remove(op);
    if (g != null) {
      g.countDown();
    }
  }

  /** Opens every gate. */
  void openAll() {
    for (Op op : Op.values()) {
      open(op);
    }
  }

  /** Waits (bounded) until a call of {@code op} reached the gate since {@link #hold}. */
  boolean awaitHeld(Op op, long millis) throws InterruptedException {
    CountDownLatch e = entered.get(op);
    return e != null && e.await(millis, TimeUnit.MILLISECONDS);
  }

  private void gate(Op op) {
    CountDownLatch g = gates.get(op);
    if (g == null) {
      return;
    }
    CountDownLatch e = entered.get(op);
    if (e != null) {
      e.countDown();
    }
    try {
      if (!g.await(30, TimeUnit.SECONDS)) {
        throw new TorusException(ErrorCode.EIO, op + " held at the gate was never let through");
      }
    } catch (InterruptedException x) {
      Thread.currentThread().interrupt();
      throw new TorusException(ErrorCode.EIO, "interrupted", x);
    }
  }

  @Override
  public void put(BlockRef ref, ByteBuffer data, int crc32c) {
    gate(Op.PUT);
    inner.put(ref, data, crc32c);
  }

  @Override
  public ByteBuffer get(BlockRef ref) {
    gate(Op.GET);
    return inner.get(ref);
  }

  @Override
  public void flush() {
    gate(Op.FLUSH);
    inner.flush();
  }

  @Override
  public void close() {
    openAll();
    inner.close();
  }
}
