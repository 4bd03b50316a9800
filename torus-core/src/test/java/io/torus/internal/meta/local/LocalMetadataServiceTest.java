package io.torus.internal.meta.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.VolumeInfo;
import io.torus.spi.Head;
import io.torus.spi.MetadataContract;
import io.torus.spi.MetadataService;
import io.torus.spi.VolumeLock;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The metadata contract, plus persistence, for {@link LocalMetadataService} on disk. */
class LocalMetadataServiceTest extends MetadataContract {
  @TempDir Path dir;

  @Override
  protected MetadataService newService() {
    return LocalMetadataService.open(dir);
  }

  @Override
  protected MetadataService reopen() {
    meta.close();
    return LocalMetadataService.open(dir);
  }

  private Path stateFile() {
    return dir.resolve(LocalStateFile.STATE);
  }

  @Test
  void reopenKeepsVolumesHeadsAndCountersButNoLocks() {
    VolumeInfo a = create("a", MIB);
    VolumeInfo b = create("b", 2 * MIB);
    meta.resizeVolume("b", 4 * MIB);
    VolumeLock lock = meta.lockVolume(a.id(), "w");
    Head h = meta.commitHead(lock, lock.head(),
        new BlockRef(a.id(), lock.head().generation(), 3, BlockKind.MAP), 5);
    VolumeInfo deleted = create("c", MIB);
    meta.deleteVolume("c");
    meta.close();

    meta = LocalMetadataService.open(dir);
    assertThat(meta.volumes()).containsExactly(a, meta.volume("b").orElseThrow());
    assertThat(meta.volume("b").orElseThrow().size()).isEqualTo(4 * MIB);
    assertThat(meta.volume("b").orElseThrow().created()).isEqualTo(b.created());
    assertThat(meta.head(a.id())).isEqualTo(h);
    VolumeLock again = meta.lockVolume(a.id(), "w2");
    assertThat(again.epoch()).isGreaterThan(lock.epoch()).isGreaterThan(h.revision());
    // above every generation the first writer had reserved (it committed 5, reserved 4101)
    assertThat(h.reserved()).isEqualTo(5 + Head.RESERVATION);
    assertThat(again.head().generation()).isEqualTo(h.reserved() + 1);
    assertThat(create("d", MIB).id()).isGreaterThan(deleted.id());
  }

  @Test
  void reopenKeepsSnapshotsAndCloneOrigins() {
    VolumeInfo a = create("a", MIB);
    VolumeLock lock = meta.lockVolume(a.id(), "w");
    meta.commitHead(lock, lock.head(),
        new BlockRef(a.id(), lock.head().generation(), 1, BlockKind.MAP), 5);
    io.torus.spi.Snapshot s = meta.createSnapshot("a", "s");
    VolumeInfo c = meta.createClone("c", "a", "s");
    io.torus.spi.LiveRoots before = meta.liveRoots();
    meta.close();

    meta = LocalMetadataService.open(dir);
    assertThat(meta.snapshots("a")).containsExactly(s);
    assertThat(meta.volume("c")).contains(c);
    assertThat(meta.cloneOrigin("c"))
        .contains(new io.torus.spi.CloneOrigin(a.id(), "a", "s"));
    assertThat(meta.liveRoots()).isEqualTo(before);
  }

  @Test
  void aSecondServiceCannotOpenTheSameDirectory() {
    create("a", MIB);
    assertThatThrownBy(() -> LocalMetadataService.open(dir))
        .isInstanceOf(TorusException.class)
        .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.EPERM))
        .hasMessageContaining(dir.toString());
    meta.close();
    meta = LocalMetadataService.open(dir);
    assertThat(meta.volume("a")).isPresent();
  }

  @Test
  void leftoverTempFileOfAnUnfinishedWriteIsIgnored() throws IOException {
    create("kept", MIB);
    meta.close();
    Files.write(dir.resolve(LocalStateFile.TEMP), new byte[] {1, 2, 3});
    meta = LocalMetadataService.open(dir);
    assertThat(meta.volumes()).extracting(VolumeInfo::name).containsExactly("kept");
    assertThat(dir.resolve(LocalStateFile.TEMP)).doesNotExist();
  }

  @Test
  void everyFlippedByteIsDetectedAndTheFileIsKept() throws IOException {
    create("a", MIB);
    VolumeLock l = meta.lockVolume(meta.volume("a").orElseThrow().id(), "w");
    meta.commitHead(l, l.head(), new BlockRef(1, 1, 0, BlockKind.DATA), 2);
    meta.close();
    meta = null;
    byte[] good = Files.readAllBytes(stateFile());
    for (int i = 0; i < good.length; i++) {
      byte[] bad = good.clone();
      bad[i] ^= 0x40;
      Files.write(stateFile(), bad);
      assertCorrupt();
      assertThat(Files.readAllBytes(stateFile())).isEqualTo(bad);
    }
    Files.write(stateFile(), good);
    meta = LocalMetadataService.open(dir);
    assertThat(meta.volume("a")).isPresent();
  }

  @Test
  void tornFilesAreDetected() throws IOException {
    create("a", MIB);
    meta.close();
    meta = null;
    byte[] good = Files.readAllBytes(stateFile());
    for (int len : new int[] {0, 3, 15, good.length / 2, good.length - 1}) {
      Files.write(stateFile(), Arrays.copyOf(good, len));
      assertCorrupt();
    }
    byte[] longer = Arrays.copyOf(good, good.length + 1);
    Files.write(stateFile(), longer);
    assertCorrupt();
  }

  private void assertCorrupt() {
    assertThatThrownBy(() -> LocalMetadataService.open(dir))
        .isInstanceOf(TorusException.class)
        .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.EIO))
        .hasMessageContaining("corrupt local metadata file " + stateFile());
  }
}
