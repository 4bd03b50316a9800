package io.torus.internal.volume;

import io.torus.spi.BlockRef;
import io.torus.spi.Head;
import java.util.ArrayList;
import java.util.List;

/**
 * The head commits of one writer whose outcome is unknown (a timeout, say: etcd can apply a
 * request after its client gave up), and what follows from them.
 *
 * <p><b>Invariant.</b> From the first doubtful commit until a later commit of this handle
 * succeeds (which proves none of them ever will be applied), no block a doubtful commit may
 * reference is deleted by this handle: {@link #mayDeletePending} is false, so superseded
 * pending blocks are kept ({@link DirtyBuffer}). Adopting a doubtful head ({@link #adopted})
 * ends the list but not the doubt: the adopted head references early-written blocks the dirty
 * map holds too, so none may be deleted as superseded before the next commit replaces it.
 *
 * <p><b>Concurrency.</b> The list is guarded by the flush lock: only {@link Committer} touches
 * it. The doubt flag is volatile: writers read it under a stripe lock, before deleting a block.
 */
final class CommitDoubt {
  /** A head commit of this handle whose outcome is unknown. */
  private record Doubt(BlockRef root, long generation) {}

  /** Commits in doubt since the last one known to have applied; guarded by the flush lock. */
  private final List<Doubt> doubtful = new ArrayList<>();
  private volatile boolean inDoubt;

  /** Records a commit of {@code root} as {@code generation} whose outcome is unknown. */
  void add(BlockRef root, long generation) {
    inDoubt = true;
    doubtful.add(new Doubt(root, generation));
  }

  /**
   * A flush journal append failed after it may have reached some peers: its entry may be
   * replayed by a later writer, so no block it names may be deleted until a head commit.
   */
  void journalInDoubt() {
    inDoubt = true;
  }

  /** Whether a commit since the last one known to have applied is in doubt. */
  boolean any() {
    return !doubtful.isEmpty();
  }

  /** Whether {@code head} is exactly what one of the doubtful commits would have set. */
  boolean isDoubtful(Head head) {
    return doubtful.contains(new Doubt(head.root(), head.generation()));
  }

  /** A doubtful commit turned out applied and was adopted; the doubt stays (see above). */
  void adopted() {
    doubtful.clear();
  }

  /** A commit of this handle moved the head: a doubtful one can never apply. */
  void settled() {
    doubtful.clear();
    inDoubt = false;
  }

  /** Whether a superseded pending block may be deleted (no commit is in doubt). */
  boolean mayDeletePending() {
    return !inDoubt;
  }
}
