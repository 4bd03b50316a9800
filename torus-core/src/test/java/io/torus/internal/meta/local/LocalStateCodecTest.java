package io.torus.internal.meta.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.TorusException;
import io.torus.internal.meta.PeerInfo;
import io.torus.internal.meta.VersionedRing;
import io.torus.spi.CloneOrigin;
import io.torus.spi.Snapshot;
import java.time.Instant;
import java.util.HexFormat;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** Pins the local metadata file format ({@link LocalStateCodec}) byte for byte. */
class LocalStateCodecTest {
  /**
   * Two volumes: "a" (id 1, 1 MiB, 64 KiB blocks, 2 copies, no root, generation 0, revision 1)
   * and "b2" (id 2, 4 MiB, 4 KiB blocks, 3 copies, root map:2/4/7, generation 5, revision 9);
   * next id 3, last revision 9. Bytes computed independently of the Java code.
   */
  private static final String GOLDEN_V1 = ""
      + "54524d44" + "0001" + "0000" + "00000097"            // magic, version, flags, body 151
      + "0000000000000003" + "0000000000000009" + "00000002" // next id, revision, count
      + "0000000000000001" + "0001" + "61"                   // id 1, name "a"
      + "0000000000100000" + "00010000" + "02"               // size, block size, replication
      + "000000006553f100" + "00000005"                      // created s, ns
      + "0000000000000000" + "0000000000000001" + "00"       // generation, revision, no root
      + "0000000000000002" + "0002" + "6232"                 // id 2, name "b2"
      + "0000000000400000" + "00001000" + "03"
      + "000000006553f101" + "00000000"
      + "0000000000000005" + "0000000000000009" + "01"       // generation, revision, root
      + "0000000000000002" + "0000000000000004" + "00000007" + "000000" + "01" // map:2/4/7
      + "7da0e67f";                                          // CRC32C

  /**
   * Format version 2: the volumes of {@link #GOLDEN_V1}, plus a snapshot "s" of "a" (1 MiB,
   * created 1700000002 s, generation 0, no root) and "b2" recorded as a clone of a@s.
   * Bytes and CRC computed independently of the Java code.
   */
  private static final String GOLDEN = ""
      + "54524d44" + "0002" + "0000" + "000000cf"            // magic, version 2, flags, body 207
      + "0000000000000003" + "0000000000000009" + "00000002" // next id, revision, count
      + "0000000000000001" + "0001" + "61"                   // id 1, name "a"
      + "0000000000100000" + "00010000" + "02"
      + "000000006553f100" + "00000005"
      + "0000000000000000" + "0000000000000001" + "00"       // generation, revision, no root
      + "00" + "00000001"                                    // no origin, 1 snapshot
      + "0001" + "73" + "0000000000100000"                   // "s", size 1 MiB
      + "000000006553f102" + "00000000"                      // created
      + "0000000000000000" + "00"                            // generation 0, no root
      + "0000000000000002" + "0002" + "6232"                 // id 2, name "b2"
      + "0000000000400000" + "00001000" + "03"
      + "000000006553f101" + "00000000"
      + "0000000000000005" + "0000000000000009" + "01"
      + "0000000000000002" + "0000000000000004" + "00000007" + "000000" + "01" // map:2/4/7
      + "01" + "0000000000000001" + "0001" + "61" + "0001" + "73" // origin 1/a@s
      + "00000000"                                           // no snapshots
      + "ee9dec3d";                                          // CRC32C

  /** {@link #sampleV3()} in format version 3: version 2's bytes plus a reservation each. */
  static final String GOLDEN_V3 =
      "54524d4400030000000000df"                             // magic, version 3, length
      + "0000000000000003" + "0000000000000009" + "00000002"   // next id, revision, count
      + "0000000000000001" + "000161" + "0000000000100000" + "00010000" + "02"
      + "000000006553f100" + "00000005" + "0000000000000000" + "0000000000000001" + "00"
      + "00" + "00000001"                                     // no origin, 1 snapshot
      + "000173" + "0000000000100000" + "000000006553f102" + "00000000"
      + "0000000000000000" + "00"
      + "0000000000000000"                                    // a: reserved 0
      + "0000000000000002" + "00026232" + "0000000000400000" + "00001000" + "03"
      + "000000006553f101" + "00000000" + "0000000000000005" + "0000000000000009" + "01"
      + "000000000000000200000000000000040000000700000001"   // root map:2/4/7
      + "01" + "0000000000000001" + "000161" + "000173"      // origin a@s
      + "00000000"                                            // no snapshots
      + "0000000000001005"                                    // b2: reserved 4101
      + "7cf84893";                                           // CRC32C

  private static LocalState sampleV2() {
    LocalState v1 = sample();
    TreeMap<String, VolumeRecord> m = new TreeMap<>(v1.volumes());
    VolumeRecord a = m.get("a");
    m.put("a", a.withSnapshot(new Snapshot(1, "a", "s", null, 0, 1 << 20,
        Instant.ofEpochSecond(1700000002)), true));
    VolumeRecord b = m.get("b2");
    m.put("b2", new VolumeRecord(b.id(), b.name(), b.size(), b.blockSize(), b.replication(),
        b.created(), b.root(), b.generation(), b.revision(), new CloneOrigin(1, "a", "s"),
        new TreeMap<>()));
    return new LocalState(3, 9, m);
  }

  @Test
  void encodesVersion2ToTheGoldenBytesAndBack() {
    assertThat(HexFormat.of().formatHex(LocalStateCodec.encode(sampleV2(), 2)))
        .isEqualTo(GOLDEN);
    assertThat(LocalStateCodec.decode(HexFormat.of().parseHex(GOLDEN), "golden"))
        .isEqualTo(sampleV2());
  }

  private static LocalState sampleV3() {
    LocalState v2 = sampleV2();
    TreeMap<String, VolumeRecord> m = new TreeMap<>(v2.volumes());
    VolumeRecord b = m.get("b2");
    m.put("b2", b.withHead(b.root(), b.generation(), b.revision(), 4101));
    return new LocalState(3, 9, m);
  }

  @Test
  void encodesVersion3ToTheGoldenBytesAndBack() {
    assertThat(HexFormat.of().formatHex(LocalStateCodec.encode(sampleV3(), 3)))
        .isEqualTo(GOLDEN_V3);
    LocalState back = LocalStateCodec.decode(HexFormat.of().parseHex(GOLDEN_V3), "golden");
    assertThat(back).isEqualTo(sampleV3());
    assertThat(back.volumes().get("b2").reserved()).isEqualTo(4101);
    assertThat(back.volumes().get("a").reserved()).isEqualTo(0);
    // Versions 1 and 2 have no reservation: it reads as the head's generation.
    assertThat(LocalStateCodec.decode(HexFormat.of().parseHex(GOLDEN), "v2").volumes()
        .get("b2").reserved()).isEqualTo(5);
  }

  /**
   * {@link #sampleV4()} in format version 4: version 3's volumes, then two peer members and
   * a ring (version 7, three bytes standing for an encoded ring).
   */
  static final String GOLDEN_V4 =
      "54524d440004000000000157"                             // magic, version 4, length
      + GOLDEN_V3.substring(24, GOLDEN_V3.length() - 8)       // version 3's body
      + "00000002"                                            // 2 members
      + "00026e31" + "000e3132372e302e302e313a34303031"       // n1, 127.0.0.1:4001
      + "0000000040000000" + "0000000000001000" + "00000001"  // 1 GiB, 4096 used, v1
      + "000000006553f103" + "00000007"                       // started
      + "00026e32" + "000a5b3a3a315d3a34303032"               // n2, [::1]:4002
      + "0000000080000000" + "0000000000000000" + "00000001"  // 2 GiB, 0 used, v1
      + "000000006553f104" + "00000000"                       // started
      + "01" + "0000000000000007" + "00000003" + "010203"     // ring version 7, 3 bytes
      + "44a4f623";                                           // CRC32C

  private static LocalState sampleV4() {
    TreeMap<String, PeerInfo> members = new TreeMap<>();
    members.put("n1", new PeerInfo("n1", "127.0.0.1:4001", 1 << 30, 4096, 1,
        Instant.ofEpochSecond(1700000003, 7)));
    members.put("n2", new PeerInfo("n2", "[::1]:4002", 2L << 30, 0, 1,
        Instant.ofEpochSecond(1700000004)));
    return sampleV3().withCoordination(members, new VersionedRing(7, new byte[] {1, 2, 3}));
  }

  @Test
  void encodesVersion4ToTheGoldenBytesAndBack() {
    assertThat(HexFormat.of().formatHex(LocalStateCodec.encode(sampleV4(), 4)))
        .isEqualTo(GOLDEN_V4);
    LocalState back = LocalStateCodec.decode(HexFormat.of().parseHex(GOLDEN_V4), "golden");
    assertThat(back).isEqualTo(sampleV4());
    assertThat(back.members().get("n1").started().getNano()).isEqualTo(7);
    // Versions 1 to 3 have no peers and no ring.
    LocalState v3 = LocalStateCodec.decode(HexFormat.of().parseHex(GOLDEN_V3), "v3");
    assertThat(v3.members()).isEmpty();
    assertThat(v3.ring()).isNull();
  }

  /** One encrypted volume (own key and one inherited), no members, no ring: version 5. */
  static final String GOLDEN_V5 =
      "54524d44000500000000009d"                              // magic, version 5, length
      + "0000000000000002" + "0000000000000003" + "00000001"  // next id, revision, 1 volume
      + "0000000000000001" + "000165"                         // id 1, name "e"
      + "0000000000100000" + "00001000" + "02"                // 1 MiB, 4 KiB, replication 2
      + "000000006553f100" + "00000000"                       // created
      + "0000000000000000" + "0000000000000003" + "00"        // generation 0, revision 3, no root
      + "00" + "00000000" + "0000000000000000"                // no origin, 0 snapshots, reserved
      + "01" + "000b" + "6165732d3235362d67636d"              // encrypted, "aes-256-gcm"
      + "0017" + "7374617469633a30303131323233333434353536363737" // "static:0011223344556677"
      + "02"                                                  // 2 keys
      + "0000000000000000" + "0004" + "01020304"              // own key, 4 bytes
      + "0000000000000005" + "0002" + "0a0b"                  // volume 5's key, 2 bytes
      + "00000000" + "00"                                     // no members, no ring
      + "d9ad72a1";                                           // CRC32C

  private static LocalState sampleV5() {
    TreeMap<String, VolumeRecord> m = new TreeMap<>();
    io.torus.VolumeKeys keys = new io.torus.VolumeKeys("aes-256-gcm",
        "static:0011223344556677", java.util.List.of(
            new io.torus.VolumeKeys.Wrapped(0, new byte[] {1, 2, 3, 4}),
            new io.torus.VolumeKeys.Wrapped(5, new byte[] {10, 11})));
    m.put("e", new VolumeRecord(1, "e", 1 << 20, 4096, 2, Instant.ofEpochSecond(1700000000),
        null, 0, 3).withKeys(keys));
    return new LocalState(2, 3, m);
  }

  @Test
  void encodesVersion5ToTheGoldenBytesAndBack() {
    assertThat(HexFormat.of().formatHex(LocalStateCodec.encode(sampleV5(), 5)))
        .isEqualTo(GOLDEN_V5);
    LocalState back = LocalStateCodec.decode(HexFormat.of().parseHex(GOLDEN_V5), "golden");
    assertThat(back).isEqualTo(sampleV5());
    assertThat(back.volumes().get("e").info().encryption().keys().get(1).volumeId())
        .isEqualTo(5);
    // version 4 and older: no keys
    assertThat(LocalStateCodec.decode(HexFormat.of().parseHex(GOLDEN_V4), "v4").volumes()
        .values()).allMatch(v -> v.encryption() == null);
  }

  /**
   * An erasure-coded volume "ec" (4+2, replication 3) and a replicated one "r", no members, no
   * ring: version 6. Bytes and CRC computed independently of the Java code.
   */
  static final String GOLDEN_V6 =
      "54524d4400060000000000a4"                              // magic, version 6, length 164
      + "0000000000000003" + "0000000000000004" + "00000002"  // next id, revision, 2 volumes
      + "0000000000000001" + "00026563"                       // id 1, name "ec"
      + "0000000000100000" + "00001000" + "03"                // 1 MiB, 4 KiB, replication 3
      + "000000006553f100" + "00000000"                       // created
      + "0000000000000000" + "0000000000000003" + "00"        // generation 0, revision 3, no root
      + "00" + "00000000" + "0000000000000000"                // no origin, 0 snapshots, reserved
      + "00"                                                  // not encrypted
      + "01" + "04" + "02"                                    // erasure-coded 4+2
      + "0000000000000002" + "000172"                         // id 2, name "r"
      + "0000000000200000" + "00004000" + "02"                // 2 MiB, 16 KiB, replication 2
      + "000000006553f101" + "00000000"                       // created
      + "0000000000000000" + "0000000000000004" + "00"        // generation 0, revision 4, no root
      + "00" + "00000000" + "0000000000000000"                // no origin, 0 snapshots, reserved
      + "00"                                                  // not encrypted
      + "00"                                                  // replicated
      + "00000000" + "00"                                     // no members, no ring
      + "89537926";                                           // CRC32C

  private static LocalState sampleV6() {
    TreeMap<String, VolumeRecord> m = new TreeMap<>();
    m.put("ec", new VolumeRecord(1, "ec", 1 << 20, 4096, 3, Instant.ofEpochSecond(1700000000),
        null, 0, 3).withErasure(new io.torus.Erasure(4, 2)));
    m.put("r", new VolumeRecord(2, "r", 2 << 20, 16384, 2, Instant.ofEpochSecond(1700000001),
        null, 0, 4));
    return new LocalState(3, 4, m);
  }

  @Test
  void encodesVersion6ToTheGoldenBytesAndBack() {
    assertThat(HexFormat.of().formatHex(LocalStateCodec.encode(sampleV6(), 6)))
        .isEqualTo(GOLDEN_V6);
    LocalState back = LocalStateCodec.decode(HexFormat.of().parseHex(GOLDEN_V6), "golden");
    assertThat(back).isEqualTo(sampleV6());
    assertThat(back.volumes().get("ec").info().erasure())
        .isEqualTo(io.torus.Erasure.parse("4+2"));
    assertThat(back.volumes().get("r").info().erasure()).isNull();
    // version 5 and older: replicated, keys kept
    LocalState v5 = LocalStateCodec.decode(HexFormat.of().parseHex(GOLDEN_V5), "v5");
    assertThat(v5).isEqualTo(sampleV5());
    assertThat(v5.volumes().values()).allMatch(v -> v.erasure() == null);
    assertThat(LocalStateCodec.decode(HexFormat.of().parseHex(GOLDEN_V4), "v4").volumes()
        .values()).allMatch(v -> v.erasure() == null);
    assertThat(LocalStateCodec.decode(LocalStateCodec.encode(sampleV5()), "v6"))
        .isEqualTo(sampleV5());
  }

  @Test
  void anErasureFlagOtherThanZeroOrOneAndABadPolicyAreRefused() {
    byte[] bytes = HexFormat.of().parseHex(GOLDEN_V6);
    int flag = 12 + 20 + 68; // the "ec" entry's erasure flag
    assertThat(bytes[flag]).isEqualTo((byte) 1);
    bytes[flag] = 2;
    assertThatThrownBy(() -> LocalStateCodec.decode(withCrc(bytes), "f"))
        .isInstanceOf(TorusException.class).hasMessageContaining("erasure flag 2");
    bytes[flag] = 1;
    bytes[flag + 2] = 9; // 4+9: more parity shards than allowed
    assertThatThrownBy(() -> LocalStateCodec.decode(withCrc(bytes), "f"))
        .isInstanceOf(TorusException.class).hasMessageContaining("parity shards: 9");
    bytes[flag + 2] = 3; // 4+3 needs replication 4; the entry has 3
    assertThatThrownBy(() -> LocalStateCodec.decode(withCrc(bytes), "f"))
        .isInstanceOf(TorusException.class).hasMessageContaining("replication >= 4");
  }

  /**
   * A volume "q" with I/O limits (500 and 200 IOPS, 100 and 50 MiB/s, 250 ms burst) and one
   * without, "r"; no members, no ring: version 7. Bytes and CRC computed independently of the
   * Java code.
   */
  static final String GOLDEN_V7 =
      "54524d4400070000000000c7"                              // magic, version 7, length 199
      + "0000000000000003" + "0000000000000004" + "00000002"  // next id, revision, 2 volumes
      + "0000000000000001" + "000171"                         // id 1, name "q"
      + "0000000000100000" + "00001000" + "02"                // 1 MiB, 4 KiB, replication 2
      + "000000006553f100" + "00000000"                       // created
      + "0000000000000000" + "0000000000000003" + "00"        // generation 0, revision 3, no root
      + "00" + "00000000" + "0000000000000000"                // no origin, 0 snapshots, reserved
      + "00" + "00"                                           // not encrypted, replicated
      + "01"                                                  // limited:
      + "00000000000001f4" + "00000000000000c8"               //   500 read, 200 write IOPS
      + "0000000006400000" + "0000000003200000"               //   100 MiB/s read, 50 written
      + "000000fa"                                            //   burst 250 ms
      + "0000000000000002" + "000172"                         // id 2, name "r"
      + "0000000000200000" + "00004000" + "02"                // 2 MiB, 16 KiB, replication 2
      + "000000006553f101" + "00000000"                       // created
      + "0000000000000000" + "0000000000000004" + "00"        // generation 0, revision 4, no root
      + "00" + "00000000" + "0000000000000000"                // no origin, 0 snapshots, reserved
      + "00" + "00"                                           // not encrypted, replicated
      + "00"                                                  // no limits
      + "00000000" + "00"                                     // no members, no ring
      + "2ee7a7bc";                                           // CRC32C

  private static final io.torus.VolumeQos QOS = new io.torus.VolumeQos(500, 200, 100 << 20,
      50 << 20, java.time.Duration.ofMillis(250));

  private static LocalState sampleV7() {
    TreeMap<String, VolumeRecord> m = new TreeMap<>();
    m.put("q", new VolumeRecord(1, "q", 1 << 20, 4096, 2, Instant.ofEpochSecond(1700000000),
        null, 0, 3).withQos(QOS));
    m.put("r", new VolumeRecord(2, "r", 2 << 20, 16384, 2, Instant.ofEpochSecond(1700000001),
        null, 0, 4));
    return new LocalState(3, 4, m);
  }

  @Test
  void encodesVersion7ToTheGoldenBytesAndBack() {
    assertThat(HexFormat.of().formatHex(LocalStateCodec.encode(sampleV7())))
        .isEqualTo(GOLDEN_V7);
    LocalState back = LocalStateCodec.decode(HexFormat.of().parseHex(GOLDEN_V7), "golden");
    assertThat(back).isEqualTo(sampleV7());
    assertThat(back.volumes().get("q").info().qos()).isEqualTo(QOS);
    assertThat(back.volumes().get("r").info().qos()).isEqualTo(io.torus.VolumeQos.UNLIMITED);
    // version 6 and older: no limits, the rest kept
    LocalState v6 = LocalStateCodec.decode(HexFormat.of().parseHex(GOLDEN_V6), "v6");
    assertThat(v6).isEqualTo(sampleV6());
    assertThat(v6.volumes().values()).allMatch(v -> v.qos().equals(io.torus.VolumeQos.UNLIMITED));
    assertThat(LocalStateCodec.decode(LocalStateCodec.encode(sampleV6()), "v7"))
        .isEqualTo(sampleV6());
    // limits dropped by an older version
    assertThat(LocalStateCodec.decode(LocalStateCodec.encode(sampleV7(), 6), "as v6")
        .volumes().get("q").qos()).isEqualTo(io.torus.VolumeQos.UNLIMITED);
  }

  @Test
  void aLimitsFlagOtherThanZeroOrOneAndBadLimitsAreRefused() {
    byte[] bytes = HexFormat.of().parseHex(GOLDEN_V7);
    int flag = 12 + 20 + 68; // the "q" entry's limits flag
    assertThat(bytes[flag]).isEqualTo((byte) 1);
    bytes[flag] = 2;
    assertThatThrownBy(() -> LocalStateCodec.decode(withCrc(bytes), "f"))
        .isInstanceOf(TorusException.class).hasMessageContaining("I/O limits flag 2");
    bytes[flag] = 1;
    bytes[flag + 1] = (byte) 0x80; // read IOPS < 0
    assertThatThrownBy(() -> LocalStateCodec.decode(withCrc(bytes), "f"))
        .isInstanceOf(TorusException.class).hasMessageContaining("readIops");
    bytes[flag + 1] = 0;
    java.nio.ByteBuffer.wrap(bytes).putInt(flag + 33, 0); // a burst of 0 ms
    assertThatThrownBy(() -> LocalStateCodec.decode(withCrc(bytes), "f"))
        .isInstanceOf(TorusException.class).hasMessageContaining("burst");
  }

  private static byte[] withCrc(byte[] bytes) {
    java.util.zip.CRC32C c = new java.util.zip.CRC32C();
    c.update(bytes, 0, bytes.length - 4);
    java.nio.ByteBuffer.wrap(bytes).putInt(bytes.length - 4, (int) c.getValue());
    return bytes;
  }

  @Test
  void aRingFlagOtherThanZeroOrOneIsRefused() {
    byte[] bytes = LocalStateCodec.encode(LocalState.EMPTY);
    bytes[36] = 2; // the ring flag, under a recomputed CRC
    java.util.zip.CRC32C c = new java.util.zip.CRC32C();
    c.update(bytes, 0, bytes.length - 4);
    java.nio.ByteBuffer.wrap(bytes).putInt(bytes.length - 4, (int) c.getValue());
    assertThatThrownBy(() -> LocalStateCodec.decode(bytes, "f"))
        .isInstanceOf(TorusException.class).hasMessageContaining("ring flag 2");
  }

  private static LocalState sample() {
    TreeMap<String, VolumeRecord> m = new TreeMap<>();
    m.put("b2", new VolumeRecord(2, "b2", 4 << 20, 4096, 3, Instant.ofEpochSecond(1700000001),
        new BlockRef(2, 4, 7, BlockKind.MAP), 5, 9));
    m.put("a", new VolumeRecord(1, "a", 1 << 20, 65536, 2,
        Instant.ofEpochSecond(1700000000, 5), null, 0, 1));
    return new LocalState(3, 9, m);
  }

  @Test
  void encodesVersion1ToItsGoldenBytes() {
    assertThat(HexFormat.of().formatHex(LocalStateCodec.encode(sample(), 1)))
        .isEqualTo(GOLDEN_V1);
  }

  @Test
  void decodesTheVersion1GoldenBytes() {
    LocalState s = LocalStateCodec.decode(HexFormat.of().parseHex(GOLDEN_V1), "golden");
    assertThat(s).isEqualTo(sample());
    assertThat(s.volumes().get("a").created().getNano()).isEqualTo(5);
  }

  @Test
  void emptyStateRoundTrips() {
    byte[] bytes = LocalStateCodec.encode(LocalState.EMPTY);
    assertThat(bytes).hasSize(41); // 16 framing, 20 counters, 4 member count, 1 ring flag
    assertThat(LocalStateCodec.decode(bytes, "empty")).isEqualTo(LocalState.EMPTY);
  }

  @Test
  void unknownVersionIsRefusedByName() {
    byte[] bytes = HexFormat.of().parseHex(GOLDEN);
    bytes[5] = 8;
    assertThatThrownBy(() -> LocalStateCodec.decode(bytes, "/x/metadata"))
        .isInstanceOf(TorusException.class)
        .hasMessageContaining("/x/metadata")
        .hasMessageContaining("unsupported format version 8");
  }

  @Test
  void validCrcOverInvalidFieldsIsStillRefused() {
    TreeMap<String, VolumeRecord> m = new TreeMap<>();
    // An id at or above the next id would let a new volume reuse it.
    m.put("a", new VolumeRecord(5, "a", 1 << 20, 65536, 2, Instant.EPOCH, null, 0, 1));
    byte[] bytes = LocalStateCodec.encode(new LocalState(3, 9, m));
    assertThatThrownBy(() -> LocalStateCodec.decode(bytes, "f"))
        .isInstanceOf(TorusException.class)
        .hasMessageContaining("corrupt local metadata file f")
        .hasMessageContaining("inconsistent volume entry 0");
  }
}
