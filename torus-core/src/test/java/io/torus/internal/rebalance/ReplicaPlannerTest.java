package io.torus.internal.rebalance;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.internal.ring.ModuloRing;
import io.torus.internal.ring.Ring;
import io.torus.internal.ring.RingPeer;
import io.torus.internal.ring.UnionRing;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * The rebalance planner's rules, on real rings and hand-made HAS answers: who pushes what
 * where, and that a copy is dropped only on a verified HAS from every owner of a stable ring.
 */
class ReplicaPlannerTest {
  private static final String SELF = "S";
  private static final List<BlockRef> REFS = IntStream.range(0, 32)
      .mapToObj(i -> new BlockRef(1, 5, i, BlockKind.DATA)).toList();

  private static Ring ring(long version, String... ids) {
    return new ModuloRing(version, Arrays.stream(ids).map(id -> new RingPeer(id, 1)).toList());
  }

  /** Answers in which each of {@code peers} confirms every ref. */
  private static Map<String, Set<BlockRef>> all(String... peers) {
    Map<String, Set<BlockRef>> m = new HashMap<>();
    for (String p : peers) {
      m.put(p, new HashSet<>(REFS));
    }
    return m;
  }

  @Test
  void underReplicatedBlocksArePushedByTheFirstOwnerHoldingThem() {
    ReplicaPlanner planner = new ReplicaPlanner(SELF, ring(1, SELF, "A", "B"));
    Map<BlockRef, List<String>> owners = planner.owners(REFS, 3);
    assertThat(planner.questions(owners).keySet()).containsExactlyInAnyOrder("A", "B");
    Map<String, Set<BlockRef>> holds = all("A");
    holds.put("B", Set.of()); // B answered: it holds nothing

    ReplicaPlanner.Plan plan = planner.plan(owners, holds);

    List<BlockRef> mine = new ArrayList<>();
    for (BlockRef ref : REFS) {
      List<String> o = owners.get(ref);
      if (o.indexOf(SELF) < o.indexOf("A")) {
        mine.add(ref); // this peer is the first holder in ring order: it pushes
      }
    }
    assertThat(mine).isNotEmpty().hasSizeLessThan(REFS.size());
    assertThat(plan.push()).containsOnlyKeys("B");
    assertThat(plan.push().get("B")).containsExactlyElementsOf(mine);
    assertThat(plan.missing()).isEqualTo(mine.size());
    assertThat(plan.candidates()).as("an owner never drops its copy").isEmpty();
  }

  @Test
  void copiesOwedToAnOwnerThatDidNotAnswerAreMissingButNotSent() {
    ReplicaPlanner planner = new ReplicaPlanner(SELF, ring(1, SELF, "A"));
    Map<BlockRef, List<String>> owners = planner.owners(REFS, 2);

    ReplicaPlanner.Plan plan = planner.plan(owners, Map.of()); // A is down

    assertThat(plan.push()).isEmpty();
    assertThat(plan.missing()).isEqualTo(REFS.size());
    assertThat(plan.candidates()).isEmpty();
  }

  @Test
  void aNonOwnerPushesOnlyWhatNoOwnerHolds() {
    ReplicaPlanner planner = new ReplicaPlanner(SELF, ring(1, "A", "B"));
    Map<BlockRef, List<String>> owners = planner.owners(REFS, 2);
    Map<String, Set<BlockRef>> holds = new HashMap<>();
    holds.put("A", new HashSet<>(REFS.subList(0, 16))); // A holds the first half
    holds.put("B", Set.of());

    ReplicaPlanner.Plan plan = planner.plan(owners, holds);

    List<BlockRef> orphans = REFS.subList(16, 32);
    assertThat(plan.push().get("A")).containsExactlyElementsOf(orphans);
    assertThat(plan.push().get("B")).containsExactlyElementsOf(orphans);
    assertThat(plan.missing()).isEqualTo(2 * orphans.size());
    assertThat(plan.candidates()).as("B lacks every block").isEmpty();
  }

  @Test
  void aCopyEveryOwnerVerifiedMayBeDropped() {
    ReplicaPlanner planner = new ReplicaPlanner(SELF, ring(1, "A", "B"));
    Map<BlockRef, List<String>> owners = planner.owners(REFS, 2);

    ReplicaPlanner.Plan plan = planner.plan(owners, all("A", "B"));

    assertThat(plan.push()).isEmpty();
    assertThat(plan.missing()).isZero();
    assertThat(plan.candidates()).containsExactlyElementsOf(REFS);
    Map<String, List<BlockRef>> verify = planner.verifyQuestions(plan.candidates(), owners);
    assertThat(verify.keySet()).containsExactlyInAnyOrder("A", "B");
    assertThat(verify.get("A")).containsExactlyElementsOf(REFS);
    assertThat(planner.droppable(plan.candidates(), owners, all("A", "B")))
        .containsExactlyElementsOf(REFS);
  }

  @Test
  void anOwnerThatDoesNotVerifyOrDoesNotAnswerKeepsTheCopy() {
    ReplicaPlanner planner = new ReplicaPlanner(SELF, ring(1, "A", "B"));
    Map<BlockRef, List<String>> owners = planner.owners(REFS, 2);
    List<BlockRef> candidates = planner.plan(owners, all("A", "B")).candidates();

    assertThat(planner.droppable(candidates, owners, all("A")))
        .as("B's verified HAS failed").isEmpty();
    Map<String, Set<BlockRef>> verified = all("A");
    verified.put("B", new HashSet<>(REFS.subList(1, 32))); // B's copy of ref 0 is corrupt
    assertThat(planner.droppable(candidates, owners, verified))
        .containsExactlyElementsOf(REFS.subList(1, 32));
    assertThat(planner.droppable(candidates, owners, Map.of())).isEmpty();

    // an owner that does not answer the plain HAS makes no candidate at all, and a non-owner
    // leaves the push to the owner holding the block
    ReplicaPlanner.Plan plan = planner.plan(owners, all("A"));
    assertThat(plan.candidates()).isEmpty();
    assertThat(plan.push()).isEmpty();
  }

  @Test
  void aBlockWithNoOwnersIsNeverDropped() {
    ReplicaPlanner planner = new ReplicaPlanner(SELF, ring(1, "A"));
    BlockRef ref = REFS.get(0);
    Map<BlockRef, List<String>> owners = Map.of(ref, List.of());

    ReplicaPlanner.Plan plan = planner.plan(owners, all("A"));

    assertThat(plan.candidates()).isEmpty();
    assertThat(planner.droppable(List.of(ref), owners, all("A"))).isEmpty();
  }

  @Test
  void aTransitionRingCopiesToItsNextRingAndDeletesNothing() {
    Ring old = ring(1, SELF, "A");
    Ring next = ring(2, "A", "B");
    ReplicaPlanner planner = new ReplicaPlanner(SELF, new UnionRing(3, old, next));
    assertThat(planner.deletes()).isFalse();
    assertThat(planner.target()).isSameAs(next);
    Map<BlockRef, List<String>> owners = planner.owners(REFS, 2);
    REFS.forEach(ref -> assertThat(owners.get(ref)).isEqualTo(next.peers(ref, 2)));

    ReplicaPlanner.Plan plan = planner.plan(owners, all("A", "B"));

    assertThat(plan.candidates()).isEmpty();
    assertThat(planner.droppable(REFS, owners, all("A", "B"))).isEmpty();
  }

  @Test
  void aDrainedPeerPushesEverythingAndDropsOnlyUnderTheStableRing() {
    // S was asked to drain: the coordinator's transition leaves it out of the next ring
    Ring next = ring(2, "A", "B");
    ReplicaPlanner during = new ReplicaPlanner(SELF, new UnionRing(3, ring(1, SELF, "A"), next));
    Map<BlockRef, List<String>> owners = during.owners(REFS, 2);
    Map<String, Set<BlockRef>> empty = new HashMap<>();
    empty.put("A", Set.of());
    empty.put("B", Set.of());

    ReplicaPlanner.Plan copy = during.plan(owners, empty);

    assertThat(copy.push().get("A")).containsExactlyElementsOf(REFS);
    assertThat(copy.push().get("B")).containsExactlyElementsOf(REFS);
    assertThat(copy.candidates()).isEmpty();
    assertThat(during.plan(owners, all("A", "B")).candidates())
        .as("copied, but still a transition").isEmpty();

    ReplicaPlanner after = new ReplicaPlanner(SELF, next.withVersion(4));
    Map<BlockRef, List<String>> stable = after.owners(REFS, 2);
    ReplicaPlanner.Plan drop = after.plan(stable, all("A", "B"));
    assertThat(drop.push()).isEmpty();
    assertThat(after.droppable(drop.candidates(), stable, all("A", "B")))
        .containsExactlyElementsOf(REFS);
  }
}
