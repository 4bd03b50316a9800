package io.torus.internal.rebalance;

import io.torus.internal.ring.Ring;
import io.torus.internal.ring.UnionRing;
import io.torus.spi.BlockRef;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Decides what a rebalance pass does with a page of the blocks this peer holds. Pure: no I/O,
 * no clock, no threads; the {@link RebalanceWorker} asks the questions and carries the plan
 * out.
 *
 * <p><b>Inputs.</b> The ring the pass works against; each block's <em>owners</em>, its first
 * R peers under the <em>target</em> ring (the ring itself, or for a {@link UnionRing} its
 * {@code next} ring); and the owners' answers: first the plain HAS (index membership), later
 * the verified HAS (durable and checksum-valid) for the copies proposed for dropping. Answers
 * are maps from peer to the refs it confirmed; a peer absent from a map did not answer (down,
 * unreachable, request failed) and confirms nothing.
 *
 * <p><b>Rules.</b> For each block:
 * <ul>
 *   <li>this peer is an owner and the first owner (in ring order) holding the block: it
 *       pushes the block to every owner that answered and lacks it;
 *   <li>this peer is not an owner and no owner holds it: it pushes it the same way (a
 *       substitute copy, or a block whose owners all changed, as on a drain);
 *   <li>this peer is not an owner and every owner holds it: the copy is a drop
 *       <em>candidate</em>; it may be dropped only if every owner then confirms it with a
 *       verified HAS, and never while the ring is a transition.
 * </ul>
 * Owners that lack the block count as <em>missing</em> copies for the block's pusher,
 * whether or not they answered (copies owed to down peers are missing, not undone work).
 *
 * <p><b>Invariants.</b> A drop needs a verified HAS from every owner of a non-transitional
 * ring; a block with no owners is never dropped. The plan never proposes deleting a block
 * this peer owns. (The worker adds the last guard: the ring version stored in etcd, read just
 * before deleting, must be the pass's.)
 *
 * <p>Immutable; thread-safe.
 */
final class ReplicaPlanner {
  private final String self;
  private final Ring ring;
  private final Ring target;

  /**
   * What to do with one page.
   *
   * @param push per target peer, the refs to copy there (in page order)
   * @param candidates refs this peer may drop if every owner verifies its copy (empty during
   *     a transition)
   * @param missing copies owed by this peer that owners lack (answered or not)
   */
  record Plan(Map<String, List<BlockRef>> push, List<BlockRef> candidates, int missing) {}

  /**
   * @param self this peer's id
   * @param ring the ring the pass works against
   */
  ReplicaPlanner(String self, Ring ring) {
    this.self = self;
    this.ring = ring;
    this.target = ring instanceof UnionRing u ? u.next() : ring;
  }

  /** The ring the pass works against. */
  Ring ring() {
    return ring;
  }

  /** The ring whose owners a block should be on. */
  Ring target() {
    return target;
  }

  /** Whether copies may be dropped at all: never during a transition. */
  boolean deletes() {
    return !(ring instanceof UnionRing);
  }

  /**
   * Each ref's owners under the target ring, in page order: {@code replication} peers, or the
   * one peer of a shard of an erasure-coded stripe.
   */
  Map<BlockRef, List<String>> owners(List<BlockRef> refs, int replication) {
    Map<BlockRef, List<String>> owners = new LinkedHashMap<>();
    for (BlockRef ref : refs) {
      owners.put(ref, target.peers(ref, ref.striped() ? 1 : replication));
    }
    return owners;
  }

  /** The plain HAS questions: per other owner, the refs to ask it about. */
  Map<String, List<BlockRef>> questions(Map<BlockRef, List<String>> owners) {
    Map<String, List<BlockRef>> ask = new LinkedHashMap<>();
    owners.forEach((ref, o) -> {
      for (String p : o) {
        if (!p.equals(self)) {
          ask.computeIfAbsent(p, k -> new ArrayList<>()).add(ref);
        }
      }
    });
    return ask;
  }

  /** The plan for a page, from its owners and their plain HAS answers. */
  Plan plan(Map<BlockRef, List<String>> owners, Map<String, Set<BlockRef>> holds) {
    Map<String, List<BlockRef>> push = new LinkedHashMap<>();
    List<BlockRef> candidates = new ArrayList<>();
    int missing = 0;
    for (Map.Entry<BlockRef, List<String>> e : owners.entrySet()) {
      BlockRef ref = e.getKey();
      List<String> holders = new ArrayList<>();
      List<String> lacking = new ArrayList<>();
      for (String p : e.getValue()) {
        Set<BlockRef> h = holds.get(p);
        if (p.equals(self) || (h != null && h.contains(ref))) {
          holders.add(p);
        } else {
          lacking.add(p);
        }
      }
      boolean owner = e.getValue().contains(self);
      boolean pusher = owner ? holders.get(0).equals(self) : holders.isEmpty();
      if (!owner && lacking.isEmpty() && !holders.isEmpty() && deletes()) {
        candidates.add(ref);
      }
      if (pusher) {
        missing += lacking.size();
        for (String p : lacking) {
          if (holds.containsKey(p)) {
            push.computeIfAbsent(p, k -> new ArrayList<>()).add(ref);
          }
        }
      }
    }
    return new Plan(push, candidates, missing);
  }

  /** The verified HAS questions: per owner, the candidates to ask it about. */
  Map<String, List<BlockRef>> verifyQuestions(List<BlockRef> candidates,
      Map<BlockRef, List<String>> owners) {
    Map<String, List<BlockRef>> ask = new LinkedHashMap<>();
    for (BlockRef ref : candidates) {
      for (String p : owners.get(ref)) {
        ask.computeIfAbsent(p, k -> new ArrayList<>()).add(ref);
      }
    }
    return ask;
  }

  /**
   * The candidates this peer may drop: those every owner confirmed with a verified HAS (its
   * copy is durable and passes its checksum). A plain HAS answers from index membership,
   * which a copy lost on the owner's next kill -9 or one that no longer reads also satisfies:
   * never enough to drop the last good copy on. Empty during a transition.
   */
  List<BlockRef> droppable(List<BlockRef> candidates, Map<BlockRef, List<String>> owners,
      Map<String, Set<BlockRef>> verified) {
    List<BlockRef> sure = new ArrayList<>();
    if (!deletes()) {
      return sure;
    }
    for (BlockRef ref : candidates) {
      List<String> o = owners.get(ref);
      boolean all = o != null && !o.isEmpty() && !o.contains(self);
      for (int i = 0; all && i < o.size(); i++) {
        Set<BlockRef> v = verified.get(o.get(i));
        all = v != null && v.contains(ref);
      }
      if (all) {
        sure.add(ref);
      }
    }
    return sure;
  }
}
