package io.torus.internal.volume;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.TorusException;
import io.torus.internal.layer.FlushJournal;
import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Which journal entries a replay applies ({@link JournalWriter#changesOf}): all, in
 * generation order, except an entry naming a block with no durable copy (a flush that was
 * never acknowledged); and none if a block's peers could not all be asked.
 */
class JournalReplayTest {
  private static final long VOL = 3;

  /** Where the blocks are, as the peers would answer; nothing else of the journal is used. */
  private static final class Located implements FlushJournal {
    final Map<BlockRef, Presence> presence = new HashMap<>();

    @Override
    public Map<BlockRef, Presence> locate(Collection<BlockRef> refs) {
      Map<BlockRef, Presence> out = new HashMap<>();
      refs.forEach(r -> out.put(r, presence.getOrDefault(r, Presence.PRESENT)));
      return out;
    }

    @Override
    public List<String> choose(long volumeId, int copies) {
      throw new UnsupportedOperationException();
    }

    @Override
    public CompletableFuture<Void> append(List<String> peers, long volumeId, long epoch,
        long generation, long checkpoint, byte[] entry) {
      throw new UnsupportedOperationException();
    }

    @Override
    public NavigableMap<Long, byte[]> recover(List<String> peers, long volumeId, long epoch,
        long after) {
      throw new UnsupportedOperationException();
    }
  }

  private static BlockRef ref(long gen, int seq) {
    return new BlockRef(VOL, gen, seq, BlockKind.DATA);
  }

  private static void entry(NavigableMap<Long, byte[]> into, long gen, Object... indexAndRef) {
    TreeMap<Long, BlockRef> changes = new TreeMap<>();
    for (int i = 0; i < indexAndRef.length; i += 2) {
      changes.put(((Number) indexAndRef[i]).longValue(), (BlockRef) indexAndRef[i + 1]);
    }
    into.put(gen, new JournalEntry(VOL, gen, changes).encode());
  }

  @Test
  void appliesEveryEntryInGenerationOrder() {
    NavigableMap<Long, byte[]> entries = new TreeMap<>();
    entry(entries, 11, 0L, ref(11, 0), 1L, ref(11, 1));
    entry(entries, 12, 1L, ref(12, 0), 2L, null);
    NavigableMap<Long, BlockRef> got = JournalWriter.changesOf(new Located(), entries, VOL, "v",
        List.of("p"));
    assertThat(got).containsEntry(0L, ref(11, 0)).containsEntry(1L, ref(12, 0))
        .containsEntry(2L, null).hasSize(3);
  }

  @Test
  void leavesOutAnEntryWithABlockNobodyHoldsAndKeepsTheLaterOne() {
    NavigableMap<Long, byte[]> entries = new TreeMap<>();
    entry(entries, 11, 0L, ref(11, 0));
    // flush 12 failed (one of its blocks never became durable); flush 13 committed its blocks
    // again, as a failed flush's blocks go back to the dirty map
    entry(entries, 12, 1L, ref(12, 0), 5L, ref(12, 1));
    entry(entries, 13, 1L, ref(13, 0), 5L, ref(13, 1), 6L, ref(13, 2));
    Located peers = new Located();
    peers.presence.put(ref(12, 1), FlushJournal.Presence.ABSENT);
    NavigableMap<Long, BlockRef> got = JournalWriter.changesOf(peers, entries, VOL, "v",
        List.of("p"));
    assertThat(got).containsEntry(0L, ref(11, 0)).containsEntry(1L, ref(13, 0))
        .containsEntry(5L, ref(13, 1)).containsEntry(6L, ref(13, 2)).hasSize(4);
    assertThat(got.values()).doesNotContain(ref(12, 0), ref(12, 1));

    entries.remove(13L); // the failed flush was the last one: the state is flush 11's
    assertThat(JournalWriter.changesOf(peers, entries, VOL, "v", List.of("p")))
        .containsOnlyKeys(0L);
  }

  @Test
  void refusesToDecideWhenABlocksPeersDidNotAllAnswer() {
    NavigableMap<Long, byte[]> entries = new TreeMap<>();
    entry(entries, 11, 0L, ref(11, 0));
    Located peers = new Located();
    peers.presence.put(ref(11, 0), FlushJournal.Presence.UNKNOWN);
    assertThatThrownBy(() -> JournalWriter.changesOf(peers, entries, VOL, "v", List.of("p")))
        .isInstanceOf(TorusException.class).hasMessageContaining("did not answer");
  }
}
