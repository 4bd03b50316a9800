package io.torus.internal.ring;

import io.torus.spi.BlockRef;
import io.torus.TorusException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Consistent hashing with virtual nodes weighted by capacity (after ketama).
 *
 * <p>Each member gets {@code max(1, round(pointsPerUnit * weight / minWeight))} points on a
 * 64-bit circle at {@link Hash64#point}{@code (Hash64.string(id), j)}; if that would exceed
 * {@link #MAX_POINTS} in total, every count is scaled down proportionally. A ref hashes to
 * {@link Hash64#ref}; its peers are the owners of the points met walking the circle upward
 * (signed 64-bit order, wrapping) from the first point {@code >=} that hash, skipping peers
 * already chosen.
 *
 * <p>Representation: one sorted {@code long[]}; the low {@code ownerBits} bits of each point
 * are replaced by the index of its owner in {@link #members()} (which also breaks ties
 * deterministically), so a lookup is one binary search plus a short walk over one array.
 *
 * <p>Immutable and thread-safe.
 */
public final class KetamaRing implements Ring {
  /** Default virtual nodes per unit of the smallest weight. */
  public static final int DEFAULT_POINTS_PER_UNIT = 2048;
  /** Upper bound on the total number of points (16 MiB of {@code long}s). */
  public static final int MAX_POINTS = 1 << 21;

  private final long version;
  private final List<RingPeer> members;
  private final String[] ids;
  private final int pointsPerUnit;
  private final long[] points;
  private final long ownerMask;

  /**
   * @param version the ring version
   * @param peers the members (any order; stored sorted by id), distinct ids, at least one
   * @param pointsPerUnit virtual nodes of a member with the smallest weight, 1 to 65536
   */
  public KetamaRing(long version, List<RingPeer> peers, int pointsPerUnit) {
    if (pointsPerUnit < 1 || pointsPerUnit > 65536) {
      throw TorusException.invalid("pointsPerUnit must be 1 to 65536: " + pointsPerUnit);
    }
    this.version = version;
    this.members = Members.canonical(peers);
    this.pointsPerUnit = pointsPerUnit;
    this.ids = members.stream().map(RingPeer::id).toArray(String[]::new);
    int ownerBits = 64 - Long.numberOfLeadingZeros(Math.max(1, ids.length - 1));
    this.ownerMask = (1L << ownerBits) - 1;
    this.points = buildPoints();
  }

  /** A ring with {@link #DEFAULT_POINTS_PER_UNIT}. */
  public KetamaRing(long version, List<RingPeer> peers) {
    this(version, peers, DEFAULT_POINTS_PER_UNIT);
  }

  private long[] buildPoints() {
    long minWeight = Long.MAX_VALUE;
    double units = 0;
    for (RingPeer p : members) {
      minWeight = Math.min(minWeight, p.weight());
    }
    for (RingPeer p : members) {
      units += (double) p.weight() / minWeight;
    }
    double perUnit = Math.min(pointsPerUnit, MAX_POINTS / units);
    int[] counts = new int[members.size()];
    long total = 0;
    for (int i = 0; i < counts.length; i++) {
      counts[i] = (int) Math.max(1,
          Math.round(perUnit * members.get(i).weight() / minWeight));
      total += counts[i];
    }
    long[] pts = new long[Math.toIntExact(total)];
    int k = 0;
    for (int i = 0; i < counts.length; i++) {
      long idHash = Hash64.string(ids[i]);
      for (int j = 0; j < counts[i]; j++) {
        pts[k++] = (Hash64.point(idHash, j) & ~ownerMask) | i;
      }
    }
    Arrays.sort(pts);
    return pts;
  }

  @Override
  public RingType type() {
    return RingType.KETAMA;
  }

  @Override
  public long version() {
    return version;
  }

  @Override
  public List<RingPeer> members() {
    return members;
  }

  /** Virtual nodes per unit of the smallest weight, as configured. */
  public int pointsPerUnit() {
    return pointsPerUnit;
  }

  /** Total number of points on the circle. */
  public int pointCount() {
    return points.length;
  }

  @Override
  public List<String> peers(BlockRef ref, int n) {
    if (ref.striped()) {
      return StripePlacement.peers(this, ref, Members.checkCount(n));
    }
    int want = Math.min(Members.checkCount(n), ids.length);
    int i = Arrays.binarySearch(points, Hash64.ref(ref));
    if (i < 0) {
      i = -i - 1;
    }
    int[] chosen = new int[want];
    int found = 0;
    for (int steps = 0; found < want && steps < points.length; steps++, i++) {
      if (i == points.length) {
        i = 0;
      }
      int owner = (int) (points[i] & ownerMask);
      if (!contains(chosen, found, owner)) {
        chosen[found++] = owner;
      }
    }
    List<String> out = new ArrayList<>(found);
    for (int j = 0; j < found; j++) {
      out.add(ids[chosen[j]]);
    }
    return out;
  }

  private static boolean contains(int[] a, int len, int v) {
    for (int j = 0; j < len; j++) {
      if (a[j] == v) {
        return true;
      }
    }
    return false;
  }

  /**
   * The exact fraction of the hash space whose first peer is each member (index as in
   * {@link #members()}): the share of blocks each member holds as first replica.
   */
  public double[] primaryShares() {
    double[] share = new double[ids.length];
    for (int i = 0; i < points.length; i++) {
      long prev = i == 0 ? points[points.length - 1] : points[i - 1];
      double arc = points.length == 1 ? 0x1p64 : unsigned(points[i] - prev);
      share[(int) (points[i] & ownerMask)] += arc / 0x1p64;
    }
    return share;
  }

  private static double unsigned(long v) {
    double d = (double) (v >>> 1) * 2.0;
    return d + (v & 1);
  }

  @Override
  public Ring withVersion(long newVersion) {
    return new KetamaRing(newVersion, members, pointsPerUnit);
  }

  @Override
  public String toString() {
    return "KetamaRing[v" + version + ", " + ids.length + " peers, " + points.length
        + " points]";
  }
}
