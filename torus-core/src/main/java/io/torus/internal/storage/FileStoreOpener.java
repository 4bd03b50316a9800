package io.torus.internal.storage;

import io.torus.spi.BlockRef;
import io.torus.ErrorCode;
import io.torus.TorusException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates and recovers {@link FileBlockStore}s: writes a new store's files in a crash-safe
 * order (data files, index log, then the superblock last, atomically), or reads the
 * superblock, replays the index log and rebuilds free space.
 *
 * <p>An open store holds an exclusive lock on {@code store.lock} (released by close or by the
 * process's death); a second open of the same directory fails with {@link ErrorCode#EPERM}.
 *
 * <p><b>Failure.</b> A store whose superblock is missing is created afresh only if its index
 * log holds no records (a crash during creation); otherwise opening fails with
 * {@link ErrorCode#EIO}. A torn index tail is truncated; corruption before it fails the open
 * ({@link IndexLog}). Nothing else that may hold user data is deleted or overwritten at open.
 *
 * <p>With {@link IndexLog.Recovery#SALVAGE} the bad index records are skipped instead. A
 * skipped delete can make a deleted block come back; if its space was reused meanwhile, the
 * ref whose record came later keeps the space and the other is dropped (logged at WARN). The
 * salvaged index is then written out as a fresh log, so the next open needs no salvage.
 */
final class FileStoreOpener {
  static final String SUPERBLOCK = "store.sb";
  static final String INDEX = "index.log";
  static final String LOCK = "store.lock";
  static final long DEFAULT_COMPACT_MIN_RECORDS = 65_536;
  /** System property that turns on {@link IndexLog.Recovery#SALVAGE} for every file store. */
  static final String SALVAGE_PROPERTY = "torus.fileStore.salvageIndex";
  private static final Logger log = LoggerFactory.getLogger(FileStoreOpener.class);

  private FileStoreOpener() {}

  static Path dataFile(Path dir, int n) {
    return dir.resolve(String.format("data-%05d.dat", n));
  }

  /** The index recovery the system property asks for: salvage if it is {@code true}. */
  static IndexLog.Recovery defaultRecovery() {
    return Boolean.parseBoolean(System.getProperty(SALVAGE_PROPERTY, "false"))
        ? IndexLog.Recovery.SALVAGE : IndexLog.Recovery.STRICT;
  }

  static FileBlockStore open(Path dir, long capacity, int fileCount, long compactMinRecords) {
    return open(dir, capacity, fileCount, compactMinRecords, defaultRecovery());
  }

  static FileBlockStore open(Path dir, long capacity, int fileCount, long compactMinRecords,
      IndexLog.Recovery recovery) {
    if (compactMinRecords < 1) {
      throw TorusException.invalid("compaction threshold must be >= 1: " + compactMinRecords);
    }
    try {
      Files.createDirectories(dir);
      FileChannel lock = lock(dir);
      try {
        return openLocked(dir, capacity, fileCount, compactMinRecords, recovery, lock);
      } catch (IOException | RuntimeException e) {
        lock.close();
        throw e;
      }
    } catch (IOException e) {
      throw new TorusException(ErrorCode.EIO, "cannot open file block store in " + dir + ": "
          + e, e);
    }
  }

  /** Takes the store's exclusive lock, so no other instance or process opens it meanwhile. */
  private static FileChannel lock(Path dir) throws IOException {
    Path path = dir.resolve(LOCK);
    FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    FileLock lock;
    try {
      lock = ch.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null;
    } catch (IOException e) {
      ch.close();
      throw e;
    }
    if (lock == null) {
      ch.close();
      throw new TorusException(ErrorCode.EPERM, "block store " + dir
          + " is already open (lock " + path + " is held)");
    }
    return ch;
  }

  private static FileBlockStore openLocked(Path dir, long capacity, int fileCount,
      long compactMinRecords, IndexLog.Recovery recovery, FileChannel lock) throws IOException {
    Path sb = dir.resolve(SUPERBLOCK);
    Superblock geometry;
    if (Files.exists(sb)) {
      geometry = Superblock.read(sb);
      if (geometry.fileCount() != fileCount
          || Math.abs(geometry.capacity() - capacity) >= (long) FileBlockStore.UNIT * fileCount) {
        log.info("block store {} keeps its geometry: {} data files, {} bytes", dir,
            geometry.fileCount(), geometry.capacity());
      }
    } else {
      geometry = create(dir, capacity, fileCount);
    }
    return recover(dir, geometry, compactMinRecords, recovery, lock);
  }

  private static Superblock geometryFor(long capacity, int fileCount) {
    if (fileCount < 1) {
      throw TorusException.invalid("data file count must be >= 1: " + fileCount);
    }
    long units = capacity / FileBlockStore.UNIT / fileCount;
    if (units < 1) {
      throw TorusException.invalid("capacity " + capacity + " is less than one 4 KiB unit per"
          + " data file (" + fileCount + " files)");
    }
    return new Superblock(fileCount, units);
  }

  private static Superblock create(Path dir, long capacity, int fileCount) throws IOException {
    Path index = dir.resolve(INDEX);
    if (IndexLog.hasRecords(index)) {
      throw new TorusException(ErrorCode.EIO, "superblock " + dir.resolve(SUPERBLOCK)
          + " is missing but index log " + index + " holds records; refusing to initialize"
          + " over existing data");
    }
    Superblock geometry = geometryFor(capacity, fileCount);
    for (int f = 0; f < geometry.fileCount(); f++) {
      try (RandomAccessFile raf = new RandomAccessFile(dataFile(dir, f).toFile(), "rw")) {
        raf.setLength(geometry.unitsPerFile() * FileBlockStore.UNIT);
        raf.getFD().sync();
      }
    }
    IndexLog.create(index);
    DurableFiles.replace(dir.resolve(SUPERBLOCK), geometry.encode());
    log.info("created block store {}: {} data files, {} bytes", dir, geometry.fileCount(),
        geometry.capacity());
    return geometry;
  }

  private static FileBlockStore recover(Path dir, Superblock geometry, long compactMinRecords,
      IndexLog.Recovery recovery, FileChannel lock) throws IOException {
    DataFile[] files = new DataFile[geometry.fileCount()];
    IndexLog indexLog = null;
    try {
      long fileSize = geometry.unitsPerFile() * FileBlockStore.UNIT;
      for (int f = 0; f < files.length; f++) {
        Path p = dataFile(dir, f);
        if (!Files.exists(p) || Files.size(p) < fileSize) {
          throw new TorusException(ErrorCode.EIO, "data file " + p + " is missing or shorter"
              + " than " + fileSize + " bytes; refusing to open");
        }
        files[f] = new DataFile(p);
      }
      Path indexPath = dir.resolve(INDEX);
      ConcurrentSkipListMap<BlockRef, Location> index = new ConcurrentSkipListMap<>();
      Map<BlockRef, Long> order = new HashMap<>(); // salvage only: when each entry was put
      long[] seq = {0};
      indexLog = IndexLog.open(indexPath, r -> {
        if (r.isPut()) {
          index.put(r.ref(), r.location());
        } else {
          index.remove(r.ref());
        }
        if (recovery == IndexLog.Recovery.SALVAGE) {
          order.put(r.ref(), seq[0]++);
        }
      }, recovery);
      ExtentAllocator allocator =
          new ExtentAllocator(geometry.fileCount(), (int) geometry.unitsPerFile());
      boolean dropped = recovery == IndexLog.Recovery.SALVAGE
          ? reserveNewestFirst(indexPath, index, order, allocator)
          : reserveAll(indexPath, index, allocator);
      if (dropped || indexLog.skipped() > 0) {
        List<IndexRecord> live = new ArrayList<>(index.size());
        index.forEach((ref, loc) -> live.add(new IndexRecord(ref, loc)));
        indexLog.rewrite(live);
        log.warn("index log {}: salvaged; rewritten with the {} blocks kept", indexPath,
            live.size());
      }
      log.debug("opened block store {}: {} blocks, {} records", dir, index.size(),
          indexLog.records());
      return new FileBlockStore("file:" + dir, geometry, files, indexLog, index, allocator,
          compactMinRecords, lock);
    } catch (IOException | RuntimeException e) {
      for (DataFile f : files) {
        if (f != null) {
          f.close();
        }
      }
      if (indexLog != null) {
        indexLog.close();
      }
      throw e;
    }
  }

  /** Reserves every live extent; an overlap or an extent out of bounds fails the open. */
  private static boolean reserveAll(Path indexPath, Map<BlockRef, Location> index,
      ExtentAllocator allocator) {
    for (Map.Entry<BlockRef, Location> e : index.entrySet()) {
      if (!allocator.reserve(e.getValue())) {
        throw new TorusException(ErrorCode.EIO, "index log " + indexPath + ": " + e.getKey()
            + " at " + e.getValue() + " is outside the data files or overlaps another"
            + " block; refusing to open");
      }
    }
    return false;
  }

  /**
   * Reserves the live extents newest record first, dropping a ref whose extent is out of
   * bounds or overlaps one reserved before it (space reused after a delete record that was
   * skipped). Returns whether any ref was dropped.
   */
  private static boolean reserveNewestFirst(Path indexPath, Map<BlockRef, Location> index,
      Map<BlockRef, Long> order, ExtentAllocator allocator) {
    List<BlockRef> refs = new ArrayList<>(index.keySet());
    refs.sort(Comparator.comparing((BlockRef r) -> order.get(r)).reversed());
    boolean dropped = false;
    for (BlockRef ref : refs) {
      Location loc = index.get(ref);
      if (!allocator.reserve(loc)) {
        log.warn("index log {}: salvage: dropping {} at {}: outside the data files or its space"
            + " was reused by a later block", indexPath, ref, loc);
        index.remove(ref);
        dropped = true;
      }
    }
    return dropped;
  }
}
