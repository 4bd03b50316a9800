package io.torus.internal.replica;

import io.torus.internal.Crc32c;
import io.torus.CorruptBlockException;
import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.internal.transport.PeerClient;
import io.torus.internal.peer.StorePeerService;
import io.torus.spi.BlockRef;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The replica-copy step: a block's bytes go from a holder of a good copy to a peer (or store)
 * that should hold one, and the copy counts only once a flush barrier made it durable there.
 * In order: <b>fetch</b> from a holder (the first of several with a good copy), <b>rate
 * limit</b> (the copier's {@link RateLimiter}, if any), <b>put</b> to the target, then a
 * <b>barrier</b> on the target. A batch to one target keeps at most {@code inFlight} puts
 * outstanding and ends with one barrier. Every request carries the copier's deadline and every
 * wait is bounded by that deadline plus a margin, so a lost answer cannot stall the caller.
 *
 * <p>Used by the data path ({@code DistributedBlockLayer}: read repair of a missing or corrupt
 * replica, re-replication of a block whose replica failed its barrier during a flush), the
 * rebalancer (pushes to a block's owners) and the scrubber (replacing a corrupt local copy).
 * It lives in a package of its own, below {@code layer} and {@code rebalance}, because both
 * use it and {@code rebalance} already depends on {@code layer}.
 *
 * <p><b>Invariants.</b> The step never deletes anything: a repair put is written beside the
 * copy it replaces and the store drops a corrupt copy only after the new one is in (the put's
 * repair flag and epoch are fixed when the {@link Target} is made). A copy is reported made
 * only after its target's barrier succeeded. The bytes put are the ones a source verified
 * (a store on read, a peer client in transit) and carry their CRC32C, which the target checks
 * again.
 *
 * <p><b>Concurrency.</b> Thread-safe and stateless apart from the shared limiter. The blocking
 * methods run on the caller's thread: never an event loop, never the executor that completes
 * peer futures.
 *
 * <p><b>Failure.</b> A holder that is missing the block or fails is skipped (its name is
 * reported in {@link Fetched#failed}); a put or barrier that fails or misses its deadline
 * throws the {@link TorusException} it failed with and counts nothing.
 */
public final class ReplicaCopier {
  private static final Logger log = LoggerFactory.getLogger(ReplicaCopier.class);
  /** How much longer than a request's deadline a wait for its answer lasts. */
  private static final Duration MARGIN = Duration.ofSeconds(2);

  /** Where a copy is read from. */
  public interface Source {
    /** The holder's name, for logs and results. */
    String name();

    /**
     * The holder's checksum-verified copy, or null if it holds none; completes exceptionally
     * (a {@link CorruptBlockException} for a copy that fails its checksum) on failure.
     */
    CompletableFuture<ByteBuffer> get(BlockRef ref);
  }

  /** Where a copy goes. */
  public interface Target {
    /** The target's name, for logs and results. */
    String name();

    /** Stores the block (the put's epoch and repair flag are the target's). */
    CompletableFuture<Void> put(BlockRef ref, ByteBuffer data, int crc32c);

    /** Barrier: completes once every put this target acknowledged before it is durable. */
    CompletableFuture<Void> flush();
  }

  /**
   * What a fetch found.
   *
   * @param source the holder whose copy was read, or null if none had one
   * @param data its bytes (read-only use), or null
   * @param failed holders whose request failed (down, deadline, corrupt copy), in order
   */
  public record Fetched(String source, ByteBuffer data, List<String> failed) {}

  /**
   * What a batch copy to one target did.
   *
   * @param copied copies put and covered by the target's barrier
   * @param bytes their bytes
   * @param unreadable refs whose source copy failed its checksum (not copied)
   */
  public record Batch(int copied, long bytes, int unreadable) {}

  private final RateLimiter limiter;
  private final int inFlight;
  private final Duration deadline;

  /**
   * @param limiter paces the bytes copied, or null for no limit
   * @param inFlight puts to one target outstanding at a time in a batch, {@code >= 1}
   * @param deadline deadline of one request
   */
  public ReplicaCopier(RateLimiter limiter, int inFlight, Duration deadline) {
    if (inFlight < 1) {
      throw TorusException.invalid("inFlight < 1: " + inFlight);
    }
    this.limiter = limiter;
    this.inFlight = inFlight;
    this.deadline = deadline;
  }

  /** A peer as a source, asked with {@code deadline}. */
  public static Source peerSource(String id, PeerClient client, Duration deadline) {
    return new Source() {
      @Override
      public String name() {
        return id;
      }

      @Override
      public CompletableFuture<ByteBuffer> get(BlockRef ref) {
        return client.get(ref, deadline);
      }
    };
  }

  /**
   * A peer as a target: puts carry {@code epoch} and {@code repair} (a repair put restores
   * bytes the ref already names, so a writer's fencing epoch does not apply to it).
   */
  public static Target peerTarget(String id, PeerClient client, long epoch, boolean repair,
      Duration deadline) {
    return new Target() {
      @Override
      public String name() {
        return id;
      }

      @Override
      public CompletableFuture<Void> put(BlockRef ref, ByteBuffer data, int crc32c) {
        return client.put(ref, epoch, data, crc32c, repair, deadline);
      }

      @Override
      public CompletableFuture<Void> flush() {
        return client.flush(deadline);
      }
    };
  }

  /** A blocking call's outcome as a completed future (its exception as a failed one). */
  private static <T> CompletableFuture<T> now(java.util.function.Supplier<T> call) {
    try {
      return CompletableFuture.completedFuture(call.get());
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /** This node's stores as a source (a read verifies the checksum). */
  public static Source storeSource(String id, StorePeerService stores) {
    return new Source() {
      @Override
      public String name() {
        return id;
      }

      @Override
      public CompletableFuture<ByteBuffer> get(BlockRef ref) {
        return now(() -> stores.get(ref));
      }
    };
  }

  /** This node's stores as a target: repair puts, then a flush of the stores. */
  public static Target storeTarget(String id, StorePeerService stores) {
    return new Target() {
      @Override
      public String name() {
        return id;
      }

      @Override
      public CompletableFuture<Void> put(BlockRef ref, ByteBuffer data, int crc32c) {
        return now(() -> {
          stores.put(ref, 0, data, crc32c, true, false);
          return null;
        });
      }

      @Override
      public CompletableFuture<Void> flush() {
        return now(() -> {
          stores.flush();
          return null;
        });
      }
    };
  }

  /** The deadline of one request. */
  public Duration deadline() {
    return deadline;
  }

  /** Reads the block from the first of {@code holders} (in order) that has a good copy. */
  public Fetched fetch(BlockRef ref, List<Source> holders) {
    List<String> failed = new ArrayList<>();
    for (Source s : holders) {
      try {
        ByteBuffer b = await(s.get(ref), deadline);
        if (b != null) {
          return new Fetched(s.name(), b, failed);
        }
      } catch (RuntimeException e) {
        failed.add(s.name());
        log.debug("no good copy of {} from {}: {}", ref, s.name(), e.toString());
      }
    }
    return new Fetched(null, null, failed);
  }

  /**
   * Copies bytes in hand (a verified copy) to {@code to}: rate limit, put, barrier.
   *
   * @throws TorusException the put or barrier failed; nothing is counted as copied
   */
  public void copy(BlockRef ref, ByteBuffer data, Target to) throws InterruptedException {
    limit(data.remaining());
    await(to.put(ref, data, Crc32c.of(data)), deadline);
    await(to.flush(), deadline);
  }

  /**
   * Copies a block from the first holder, in order, that has a good copy, to {@code to}. A
   * holder whose copy could not be read or put (the step is idempotent) makes it go on to
   * the next one.
   *
   * @return the holder the copy came from, or null if no holder's copy made it
   */
  public String copy(BlockRef ref, List<Source> holders, Target to)
      throws InterruptedException {
    for (Source s : holders) {
      Fetched f = fetch(ref, List.of(s));
      if (f.data() == null) {
        continue;
      }
      try {
        copy(ref, f.data(), to);
        return s.name();
      } catch (RuntimeException e) {
        log.debug("copy of {} from {} to {} failed: {}", ref, s.name(), to.name(),
            e.toString());
      }
    }
    return null;
  }

  /**
   * Copies {@code refs} from one holder to one target: each is read, rate limited and put
   * with at most {@code inFlight} puts outstanding, then one barrier covers them all. A ref
   * the holder no longer has (deleted meanwhile) is skipped; one whose copy there fails its
   * checksum is skipped and counted unreadable.
   *
   * @throws TorusException a read (other than a checksum failure), put or barrier failed;
   *     nothing of the batch is counted as copied
   */
  public Batch copy(Source from, Target to, List<BlockRef> refs) throws InterruptedException {
    Deque<CompletableFuture<Void>> puts = new ArrayDeque<>();
    long bytes = 0;
    int copied = 0;
    int unreadable = 0;
    for (BlockRef ref : refs) {
      ByteBuffer data;
      try {
        data = await(from.get(ref), deadline);
      } catch (CorruptBlockException e) {
        unreadable++;
        continue;
      }
      if (data == null) {
        continue;
      }
      int len = data.remaining();
      limit(len);
      puts.add(to.put(ref, data, Crc32c.of(data)));
      bytes += len;
      copied++;
      if (puts.size() >= inFlight) {
        await(puts.removeFirst(), deadline);
      }
    }
    while (!puts.isEmpty()) {
      await(puts.removeFirst(), deadline);
    }
    await(to.flush(), deadline);
    return new Batch(copied, bytes, unreadable);
  }

  private void limit(long bytes) throws InterruptedException {
    if (limiter != null) {
      limiter.acquire(bytes);
    }
  }

  /**
   * Waits for a peer answer, at most {@code deadline} plus a margin: the transport fails
   * requests at their deadline, and this bound keeps the caller moving even if an answer is
   * lost. An interrupt is kept (the thread's flag is set again) and thrown as EIO.
   *
   * @throws TorusException what the request failed with, or EIO (retryable) on no answer
   */
  public static <T> T await(CompletableFuture<T> f, Duration deadline) {
    try {
      return f.get(deadline.plus(MARGIN).toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      f.cancel(false);
      throw new TorusException(ErrorCode.EIO, "no answer within " + deadline.plus(MARGIN),
          null, true);
    } catch (ExecutionException e) {
      throw TorusException.of(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new TorusException(ErrorCode.EIO, "interrupted", e);
    }
  }

}
