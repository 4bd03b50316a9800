package io.torus.internal.transport;

import java.util.Arrays;

/**
 * One entry of a volume's flush journal as a peer holds it: its generation and its opaque
 * bytes (the map changes of one flush).
 *
 * <p>The array is not copied: a peer answers a fence with the arrays it holds, and a client
 * hands out the arrays it decoded. Treat {@code entry} as read-only.
 *
 * @param generation the entry's generation (&gt; 0; a volume's entries are ascending)
 * @param entry the entry's bytes; not null
 */
public record JournalRecord(long generation, byte[] entry) {
  public JournalRecord {
    if (entry == null) {
      throw new NullPointerException("entry");
    }
  }

  /** Equal generation and equal bytes. */
  @Override
  public boolean equals(Object o) {
    return o instanceof JournalRecord r && r.generation == generation
        && Arrays.equals(r.entry, entry);
  }

  @Override
  public int hashCode() {
    return Long.hashCode(generation) * 31 + Arrays.hashCode(entry);
  }

  @Override
  public String toString() {
    return "JournalRecord[generation=" + generation + ", " + entry.length + " bytes]";
  }
}
