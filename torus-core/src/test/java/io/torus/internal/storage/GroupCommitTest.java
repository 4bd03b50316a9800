package io.torus.internal.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.ErrorCode;
import io.torus.TorusException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The round protocol of {@link GroupCommit}, with rounds that block until released. */
class GroupCommitTest {
  private final ExecutorService pool = Executors.newCachedThreadPool();
  private final GroupCommit commit = new GroupCommit();
  private final AtomicInteger ran = new AtomicInteger();
  private final CountDownLatch firstRunning = new CountDownLatch(1);
  private final CountDownLatch releaseFirst = new CountDownLatch(1);
  private final AtomicBoolean failFirst = new AtomicBoolean();
  private final AtomicBoolean refuse = new AtomicBoolean();

  @AfterEach
  void stop() {
    releaseFirst.countDown();
    pool.shutdownNow();
  }

  /** A round: the first one blocks until released, then fails if asked to. */
  private void round() {
    if (ran.incrementAndGet() == 1) {
      firstRunning.countDown();
      try {
        assertThat(releaseFirst.await(20, TimeUnit.SECONDS)).isTrue();
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
      if (failFirst.get()) {
        throw new TorusException(ErrorCode.EIO, "injected round failure");
      }
    }
  }

  private void refusal() {
    if (refuse.get()) {
      throw new TorusException(ErrorCode.EIO, "refused after a failed round");
    }
  }

  private Future<?> flush() {
    return pool.submit(() -> commit.commit(this::round, this::refusal));
  }

  /** Starts a flush and returns once it waits for the running round. */
  private Future<?> flushThatWaits() throws InterruptedException {
    Thread[] t = new Thread[1];
    CountDownLatch started = new CountDownLatch(1);
    Future<?> f = pool.submit(() -> {
      t[0] = Thread.currentThread();
      started.countDown();
      commit.commit(this::round, this::refusal);
    });
    assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
    for (int i = 0; i < 2000 && t[0].getState() != Thread.State.WAITING; i++) {
      Thread.sleep(5);
    }
    assertThat(t[0].getState()).isEqualTo(Thread.State.WAITING);
    return f;
  }

  @Test
  void aLoneFlushRunsOneRoundOnItsOwnThread() {
    releaseFirst.countDown();
    Thread[] on = new Thread[1];
    commit.commit(() -> on[0] = Thread.currentThread(), this::refusal);
    assertThat(on[0]).isSameAs(Thread.currentThread());
    commit.commit(ran::incrementAndGet, this::refusal);
    assertThat(commit.rounds()).isEqualTo(2);
  }

  @Test
  void flushesArrivingDuringARoundShareTheNextOne() throws Exception {
    Future<?> first = flush();
    assertThat(firstRunning.await(10, TimeUnit.SECONDS)).isTrue();
    List<Future<?>> later = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      later.add(flushThatWaits());
    }
    assertThat(ran).hasValue(1); // the running round does not cover them
    releaseFirst.countDown();
    first.get(10, TimeUnit.SECONDS);
    for (Future<?> f : later) {
      f.get(10, TimeUnit.SECONDS);
    }
    assertThat(ran).as("one round for the three waiters").hasValue(2);
    assertThat(commit.rounds()).isEqualTo(2);
  }

  @Test
  void aRefusedRoundFailsItsWaitersAndRunsNoOther() throws Exception {
    failFirst.set(true);
    Future<?> first = flush();
    assertThat(firstRunning.await(10, TimeUnit.SECONDS)).isTrue();
    Future<?> second = flushThatWaits();
    refuse.set(true); // as the store does when the round's force failed
    releaseFirst.countDown();
    assertThatThrownBy(() -> first.get(10, TimeUnit.SECONDS))
        .hasRootCauseMessage("injected round failure");
    assertThatThrownBy(() -> second.get(10, TimeUnit.SECONDS))
        .hasRootCauseMessage("refused after a failed round");
    assertThat(ran).hasValue(1);
    assertThatThrownBy(() -> commit.commit(this::round, this::refusal))
        .hasMessage("refused after a failed round");
    assertThat(ran).hasValue(1);
  }

  @Test
  void aWaiterLeadsANewRoundAfterAFailureThatDoesNotRefuse() throws Exception {
    failFirst.set(true); // e.g. the leader was interrupted: the store is not failed
    Future<?> first = flush();
    assertThat(firstRunning.await(10, TimeUnit.SECONDS)).isTrue();
    Future<?> second = flushThatWaits();
    releaseFirst.countDown();
    assertThatThrownBy(() -> first.get(10, TimeUnit.SECONDS))
        .hasRootCauseMessage("injected round failure");
    second.get(10, TimeUnit.SECONDS);
    assertThat(ran).hasValue(2);
  }

  @Test
  void aWaiterInterruptedThrowsEioAndKeepsItsInterrupt() throws Exception {
    Future<?> first = flush();
    assertThat(firstRunning.await(10, TimeUnit.SECONDS)).isTrue();
    AtomicBoolean interrupted = new AtomicBoolean();
    Thread[] t = new Thread[1];
    CountDownLatch started = new CountDownLatch(1);
    Future<TorusException> waiter = pool.submit(() -> {
      t[0] = Thread.currentThread();
      started.countDown();
      try {
        commit.commit(this::round, this::refusal);
        return null;
      } catch (TorusException e) {
        interrupted.set(Thread.currentThread().isInterrupted());
        return e;
      }
    });
    assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
    for (int i = 0; i < 2000 && t[0].getState() != Thread.State.WAITING; i++) {
      Thread.sleep(5);
    }
    t[0].interrupt();
    TorusException e = waiter.get(10, TimeUnit.SECONDS);
    assertThat(e).isNotNull();
    assertThat(e.code()).isEqualTo(ErrorCode.EIO);
    assertThat(interrupted).isTrue();
    releaseFirst.countDown();
    first.get(10, TimeUnit.SECONDS);
    assertThat(ran).hasValue(1);
  }
}
