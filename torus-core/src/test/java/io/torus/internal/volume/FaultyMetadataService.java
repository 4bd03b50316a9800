package io.torus.internal.volume;

import io.torus.spi.BlockRef;
import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.VolumeInfo;
import io.torus.VolumeSpec;
import io.torus.spi.CloneOrigin;
import io.torus.spi.Head;
import io.torus.spi.LiveRoots;
import io.torus.spi.MetadataService;
import io.torus.spi.Snapshot;
import io.torus.spi.VolumeLock;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A metadata service that forwards to another and fails head commits on command, the way an
 * etcd commit that timed out does: either not applied at all ({@link #failCommits}), or
 * applied only later, after the writer's read-back saw the old head ({@link #delayCommit}).
 */
final class FaultyMetadataService implements MetadataService {
  /** The arguments of a commit held back by {@link #delayCommit}. */
  record Delayed(VolumeLock lock, Head expected, BlockRef root, long generation) {}

  private final MetadataService inner;
  private final AtomicInteger failCommits = new AtomicInteger();
  private volatile boolean delayNext;
  private volatile Delayed delayed;

  FaultyMetadataService(MetadataService inner) {
    this.inner = inner;
  }

  /** The next {@code n} head commits time out without being applied. */
  void failCommits(int n) {
    failCommits.set(n);
  }

  /** The next head commit times out; {@link #applyDelayed} applies it afterwards. */
  void delayCommit() {
    delayNext = true;
  }

  /** Applies the commit held back by {@link #delayCommit}, as etcd would late. */
  Head applyDelayed() {
    Delayed d = delayed;
    if (d == null) {
      throw new IllegalStateException("no delayed commit");
    }
    delayed = null;
    return inner.commitHead(d.lock(), d.expected(), d.root(), d.generation());
  }

  @Override
  public Head commitHead(VolumeLock lock, Head expected, BlockRef root, long generation) {
    if (delayNext) {
      delayNext = false;
      delayed = new Delayed(lock, expected, root, generation);
      throw timeout();
    }
    if (failCommits.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
      throw timeout();
    }
    return inner.commitHead(lock, expected, root, generation);
  }

  private static TorusException timeout() {
    return new TorusException(ErrorCode.EIO, "committing the head: timed out (injected)");
  }

  @Override
  public VolumeInfo createVolume(VolumeSpec spec) {
    return inner.createVolume(spec);
  }

  @Override
  public Optional<VolumeInfo> volume(String name) {
    return inner.volume(name);
  }

  @Override
  public List<VolumeInfo> volumes() {
    return inner.volumes();
  }

  @Override
  public VolumeInfo resizeVolume(String name, long newSize) {
    return inner.resizeVolume(name, newSize);
  }

  @Override
  public void deleteVolume(String name) {
    inner.deleteVolume(name);
  }

  @Override
  public Head head(long volumeId) {
    return inner.head(volumeId);
  }

  @Override
  public VolumeLock lockVolume(long volumeId, String holder) {
    return inner.lockVolume(volumeId, holder);
  }

  /** From now on every lock counts as possibly lost ({@link #checkLock} throws). */
  void loseLocks() {
    locksLost = true;
  }

  private volatile boolean locksLost;

  @Override
  public void checkLock(VolumeLock lock) {
    if (locksLost) {
      throw new io.torus.LeaseLostException("lease of lock " + lock.epoch()
          + " not renewed within its TTL (injected)");
    }
    inner.checkLock(lock);
  }

  @Override
  public void unlock(VolumeLock lock) {
    inner.unlock(lock);
  }

  @Override
  public VolumeInfo setVolumeReplication(String volume, int replication) {
    return inner.setVolumeReplication(volume, replication);
  }

  @Override
  public Snapshot createSnapshot(String volume, String snapshot) {
    return inner.createSnapshot(volume, snapshot);
  }

  @Override
  public List<Snapshot> snapshots(String volume) {
    return inner.snapshots(volume);
  }

  @Override
  public Optional<Snapshot> snapshot(String volume, String snapshot) {
    return inner.snapshot(volume, snapshot);
  }

  @Override
  public void deleteSnapshot(String volume, String snapshot) {
    inner.deleteSnapshot(volume, snapshot);
  }

  @Override
  public Head restoreSnapshot(String volume, String snapshot) {
    return inner.restoreSnapshot(volume, snapshot);
  }

  @Override
  public VolumeInfo createClone(String name, String sourceVolume, String snapshot) {
    return inner.createClone(name, sourceVolume, snapshot);
  }

  @Override
  public Optional<CloneOrigin> cloneOrigin(String volume) {
    return inner.cloneOrigin(volume);
  }

  @Override
  public LiveRoots liveRoots() {
    return inner.liveRoots();
  }

  @Override
  public void addSessionListener(SessionListener listener) {
    inner.addSessionListener(listener);
  }

  @Override
  public void close() {
    inner.close();
  }
}
