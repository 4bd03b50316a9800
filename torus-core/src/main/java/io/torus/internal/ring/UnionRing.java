package io.torus.internal.ring;

import io.torus.spi.BlockRef;
import io.torus.TorusException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The ring in force while data moves from {@code old} to {@code next}: writes go where
 * {@code next} says; reads look where {@code next} says first, then where {@code old} says.
 * Members are the union (weights from {@code next} where a peer is in both). Neither part may
 * itself be a union. Immutable and thread-safe.
 */
public final class UnionRing implements Ring {
  private final long version;
  private final Ring old;
  private final Ring next;
  private final List<RingPeer> members;

  /**
   * @param version the union's own version (above both parts' in a stored history)
   * @param old the ring data moves away from
   * @param next the ring data moves to
   */
  public UnionRing(long version, Ring old, Ring next) {
    if (old instanceof UnionRing || next instanceof UnionRing) {
      throw TorusException.invalid("a union ring cannot contain a union ring");
    }
    this.version = version;
    this.old = old;
    this.next = next;
    Map<String, RingPeer> all = new LinkedHashMap<>();
    old.members().forEach(p -> all.put(p.id(), p));
    next.members().forEach(p -> all.put(p.id(), p));
    this.members = Members.canonical(new ArrayList<>(all.values()));
  }

  /** The ring data moves away from. */
  public Ring old() {
    return old;
  }

  /** The ring data moves to. */
  public Ring next() {
    return next;
  }

  @Override
  public RingType type() {
    return RingType.UNION;
  }

  @Override
  public long version() {
    return version;
  }

  @Override
  public List<RingPeer> members() {
    return members;
  }

  @Override
  public List<String> peers(BlockRef ref, int n) {
    return next.peers(ref, n);
  }

  @Override
  public List<String> readPeers(BlockRef ref, int n) {
    List<String> out = new ArrayList<>(next.peers(ref, n));
    for (String p : old.peers(ref, n)) {
      if (!out.contains(p)) {
        out.add(p);
      }
    }
    return out;
  }

  @Override
  public Ring withVersion(long newVersion) {
    return new UnionRing(newVersion, old, next);
  }

  @Override
  public String toString() {
    return "UnionRing[v" + version + ", old=" + old + ", next=" + next + "]";
  }
}
