package io.torus.internal.volume;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.BlockVolume;
import io.torus.SnapshotInfo;
import io.torus.Torus;
import io.torus.TorusBuilder;
import io.torus.VolumeSpec;
import io.torus.testing.cluster.MiniCluster;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Random sequences of writes, flushes, snapshots, restores, clones (and snapshots of clones),
 * deletes in every order and garbage collections over several volumes, each checked against
 * a {@code byte[]} model per volume and per snapshot. Seed printed; replay with
 * {@code -Dtorus.seed=N}.
 */
class SnapshotModelTest {
  private static final int BLOCK = 4096;
  private static final int SIZE = 48 * BLOCK;

  @TempDir
  Path dir;

  /** A volume of the model: its content now and at its last flush, and its open handle. */
  private static final class Vol {
    byte[] now = new byte[SIZE];
    byte[] flushed = new byte[SIZE];
    BlockVolume handle;
  }

  /** {@code cluster}: three in-process peers, two copies per block, the cluster collector. */
  @ParameterizedTest(name = "{0} node")
  @ValueSource(strings = {"memory", "file", "cluster"})
  void snapshotsClonesAndRestoresMatchModel(String kind) {
    long seed = Long.getLong("torus.seed", System.nanoTime());
    System.out.println("SnapshotModelTest seed " + seed + " (" + kind + ")");
    Random rnd = new Random(seed);
    TorusBuilder b = Torus.builder().gcInterval(Duration.ZERO).dirtyBytes(6 * BLOCK)
        .cacheBytes(0);
    if (kind.equals("file")) {
      b.dataDirectory(dir).storeCapacity(256L << 20);
    }
    Map<String, Vol> vols = new HashMap<>();
    Map<String, byte[]> snaps = new HashMap<>();
    int created = 0;
    boolean clustered = kind.equals("cluster");
    MiniCluster cluster = clustered ? MiniCluster.builder(dir).nodes(3)
        .configure(n -> n.dirtyBytes(6 * BLOCK).cacheBytes(0)).start() : null;
    int copies = clustered ? 2 : 1;
    try (MiniCluster closedLast = cluster; Torus t = clustered ? cluster.node(0) : b.build()) {
      if (clustered) {
        closedLast.awaitRing(Duration.ofSeconds(20));
      }
      for (int op = 0; op < (clustered ? 700 : 1500); op++) {
        String ctx = "seed " + seed + " op " + op;
        int k = rnd.nextInt(100);
        List<String> names = new ArrayList<>(vols.keySet());
        names.sort(null);
        String v = names.isEmpty() ? null : names.get(rnd.nextInt(names.size()));
        List<String> snapNames = new ArrayList<>(snaps.keySet());
        snapNames.sort(null);
        String s = snapNames.isEmpty() ? null : snapNames.get(rnd.nextInt(snapNames.size()));
        if (v == null || k < 4) {
          String name = "v" + created++;
          t.createVolume(VolumeSpec.builder(name, SIZE).blockSize(BLOCK).replication(copies)
              .build());
          Vol vol = new Vol();
          vol.handle = t.openVolume(name);
          vols.put(name, vol);
        } else if (k < 40) {
          Vol vol = vols.get(v);
          byte[] data = new byte[1 + rnd.nextInt(3 * BLOCK)];
          rnd.nextBytes(data);
          int off = rnd.nextInt(SIZE - data.length);
          vol.handle.write(off, ByteBuffer.wrap(data));
          System.arraycopy(data, 0, vol.now, off, data.length);
        } else if (k < 52) {
          Vol vol = vols.get(v);
          vol.handle.flush();
          vol.flushed = vol.now.clone();
        } else if (k < 62) {
          String name = v + "@s" + op;
          SnapshotInfo info = t.createSnapshot(v, "s" + op);
          assertThat(info.fullName()).isEqualTo(name);
          snaps.put(name, vols.get(v).flushed.clone());
        } else if (k < 70 && s != null) {
          String[] p = s.split("@");
          try (BlockVolume sv = t.openSnapshot(p[0], p[1])) {
            assertThat(read(sv)).as(ctx + " snapshot " + s).isEqualTo(snaps.get(s));
          }
        } else if (k < 76 && s != null) {
          String[] p = s.split("@");
          String name = "v" + created++;
          t.cloneVolume(p[0], p[1], name);
          Vol vol = new Vol();
          vol.now = snaps.get(s).clone();
          vol.flushed = vol.now.clone();
          vol.handle = t.openVolume(name);
          vols.put(name, vol);
        } else if (k < 81 && s != null && vols.containsKey(s.split("@")[0])) {
          String[] p = s.split("@");
          Vol vol = vols.get(p[0]);
          vol.handle.close(); // restore needs the writer gone; close flushes
          t.restoreSnapshot(p[0], p[1]);
          vol.now = snaps.get(s).clone();
          vol.flushed = vol.now.clone();
          vol.handle = t.openVolume(p[0]);
        } else if (k < 86 && s != null) {
          String[] p = s.split("@");
          t.deleteSnapshot(p[0], p[1]);
          snaps.remove(s);
        } else if (k < 89 && vols.size() > 1) {
          vols.get(v).handle.close();
          t.deleteVolume(v);
          vols.remove(v);
          snaps.keySet().removeIf(sn -> sn.startsWith(v + "@")); // they go with it
        } else if (k < 93) {
          t.collectGarbage();
        } else {
          Vol vol = vols.get(v);
          assertThat(read(vol.handle)).as(ctx + " volume " + v).isEqualTo(vol.now);
        }
      }
      t.collectGarbage();
      for (Map.Entry<String, Vol> e : vols.entrySet()) {
        assertThat(read(e.getValue().handle)).as("seed %d end %s", seed, e.getKey())
            .isEqualTo(e.getValue().now);
        e.getValue().handle.close();
      }
      for (Map.Entry<String, byte[]> e : snaps.entrySet()) {
        String[] p = e.getKey().split("@");
        try (BlockVolume sv = t.openSnapshot(p[0], p[1])) {
          assertThat(read(sv)).as("seed %d end %s", seed, e.getKey()).isEqualTo(e.getValue());
        }
      }
    }
  }

  private static byte[] read(BlockVolume v) {
    ByteBuffer b = ByteBuffer.allocate(SIZE);
    v.read(0, b);
    return b.array();
  }
}
