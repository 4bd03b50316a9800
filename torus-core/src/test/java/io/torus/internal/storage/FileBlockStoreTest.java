package io.torus.internal.storage;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.spi.BlockRef;
import io.torus.spi.BlockStore;
import io.torus.spi.BlockStoreContract;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The contract on a file store spread over three data files, behind the checks every store
 * of a node has ({@link CheckedBlockStore}).
 */
class FileBlockStoreTest extends BlockStoreContract {

  @Override
  protected BlockStore newStore(long capacity) {
    return CheckedBlockStore.wrap(FileStoreOpener.open(dir.resolve("store"), capacity, 3, 64));
  }

  @Override
  protected void corrupt(BlockStore s, BlockRef ref) {
    Location loc = raw(s).location(ref);
    Path file = FileStoreOpener.dataFile(dir.resolve("store"), loc.file());
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
      long at = loc.offset() + BlockHeader.SIZE + loc.length() / 2;
      raf.seek(at);
      int b = raf.read();
      raf.seek(at);
      raf.write(b ^ 0x01);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Test
  void replacementOfACorruptCopySurvivesReopenAndFreesTheOldSpaceAfterAFlush() {
    FileBlockStore s = FileStoreOpener.open(dir.resolve("store"), 3 << 20, 3, 64);
    put(s, ref(1, 1), bytes(10_000, 1));
    s.flush();
    Location old = s.location(ref(1, 1));
    long used = s.used();
    corrupt(s, ref(1, 1));
    put(s, ref(1, 1), bytes(10_000, 1));
    assertThat(s.location(ref(1, 1))).isNotEqualTo(old);
    assertThat(s.used()).isEqualTo(2 * used); // the old extent is pending free
    s.flush();
    assertThat(s.used()).isEqualTo(used);
    s.close();
    FileBlockStore again = FileStoreOpener.open(dir.resolve("store"), 3 << 20, 3, 64);
    try {
      assertThat(again.used()).isEqualTo(used);
      ByteBuffer b = again.get(ref(1, 1));
      byte[] got = new byte[b.remaining()];
      b.get(got);
      assertThat(got).isEqualTo(bytes(10_000, 1));
    } finally {
      again.close();
    }
  }

  @Test
  void isPersistentAndAccountsInUnits() {
    BlockStore s = open(3 << 20);
    assertThat(s.capabilities().persistent()).isTrue();
    assertThat(s.capacity()).isEqualTo(3 << 20);
    put(s, ref(1, 1), bytes(100, 1));
    assertThat(s.used()).isEqualTo(FileBlockStore.UNIT);
    put(s, ref(1, 2), bytes(FileBlockStore.UNIT, 1));
    assertThat(s.used()).isEqualTo(3 * FileBlockStore.UNIT);
  }

  /** The store behind the checks, or {@code s} itself. */
  private static FileBlockStore raw(BlockStore s) {
    return (FileBlockStore) (s instanceof CheckedBlockStore c ? c.delegate() : s);
  }
}
