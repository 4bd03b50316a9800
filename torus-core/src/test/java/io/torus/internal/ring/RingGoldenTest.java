package io.torus.internal.ring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.spi.BlockKind;
import io.torus.spi.BlockRef;
import io.torus.ErrorCode;
import io.torus.TorusException;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Placement and the ring encoding must never change silently: these values were computed
 * once and are fixed forever (a change here means data would move between versions).
 */
class RingGoldenTest {
  private static final List<RingPeer> PEERS = List.of(new RingPeer("peer-a", 100),
      new RingPeer("peer-b", 200), new RingPeer("peer-c", 100), new RingPeer("peer-d", 300),
      new RingPeer("peer-e", 100));
  private static final BlockRef R1 = new BlockRef(1, 1, 0, BlockKind.DATA);
  private static final BlockRef R2 = new BlockRef(1, 1, 1, BlockKind.DATA);
  private static final BlockRef R3 = new BlockRef(2, 5, 77, BlockKind.MAP);
  private static final BlockRef R4 = new BlockRef(123456789L, 42, 1000, BlockKind.DATA);
  private static final BlockRef R5 = new BlockRef(9, 3, 4, BlockKind.PARITY);

  @Test
  void hashesAreFixed() {
    assertThat(Hash64.ref(R1)).isEqualTo(0x0e88162b6750c7ddL);
    assertThat(Hash64.ref(R4)).isEqualTo(0x2965f31d3c0e6056L);
    assertThat(Hash64.string("peer-a")).isEqualTo(0xfec1fd2edbb90ba3L);
    assertThat(Hash64.point(Hash64.string("peer-a"), 0)).isEqualTo(0xe2bcf93ab2009b17L);
  }

  @Test
  void ketamaPlacementIsFixed() {
    Ring k = new KetamaRing(7, PEERS);
    assertThat(k.peers(R1, 3)).containsExactly("peer-b", "peer-a", "peer-c");
    assertThat(k.peers(R2, 3)).containsExactly("peer-b", "peer-a", "peer-e");
    assertThat(k.peers(R3, 3)).containsExactly("peer-b", "peer-a", "peer-d");
    assertThat(k.peers(R4, 3)).containsExactly("peer-b", "peer-d", "peer-c");
    assertThat(k.peers(R5, 3)).containsExactly("peer-c", "peer-d", "peer-b");
  }

  @Test
  void moduloPlacementIsFixed() {
    Ring m = new ModuloRing(7, PEERS);
    assertThat(m.peers(R1, 3)).containsExactly("peer-d", "peer-e", "peer-a");
    assertThat(m.peers(R3, 3)).containsExactly("peer-c", "peer-d", "peer-e");
    assertThat(m.peers(R4, 3)).containsExactly("peer-a", "peer-b", "peer-c");
  }

  @Test
  void ketamaEncodingIsFixed() {
    Ring r = new KetamaRing(3, List.of(new RingPeer("bb", 2), new RingPeer("a", 1)), 16);
    String hex = "54524e4701040000" + "0000000000000003" + "00000010" + "00000002"
        + "01" + "61" + "0000000000000001" + "02" + "6262" + "0000000000000002" + "6eb140a7";
    assertThat(HexFormat.of().formatHex(RingCodec.encode(r))).isEqualTo(hex);
    Ring back = RingCodec.decode(HexFormat.of().parseHex(hex));
    assertThat(back).isInstanceOf(KetamaRing.class);
    assertThat(back.version()).isEqualTo(3);
    assertThat(back.members()).isEqualTo(r.members());
    assertThat(((KetamaRing) back).pointsPerUnit()).isEqualTo(16);
  }

  @Test
  void unionEncodingIsFixed() {
    Ring u = new UnionRing(4, new SinglePeerRing(2, new RingPeer("a", 1)),
        new ModuloRing(3, List.of(new RingPeer("a", 1), new RingPeer("bb", 2))));
    String hex = "54524e470103000000000000000000040000002654524e4701010000000000000000000200"
        + "0000000000000101610000000000000001291d47880000003154524e4701020000000000000000"
        + "0003000000000000000201610000000000000001026262000000000000000278d97ead5d53b936";
    assertThat(HexFormat.of().formatHex(RingCodec.encode(u))).isEqualTo(hex);
    UnionRing back = (UnionRing) RingCodec.decode(HexFormat.of().parseHex(hex));
    assertThat(back.old()).isInstanceOf(SinglePeerRing.class);
    assertThat(back.next().version()).isEqualTo(3);
    assertThat(back.members()).extracting(RingPeer::id).containsExactly("a", "bb");
  }

  @Test
  void corruptEncodingsAreRefused() {
    byte[] good = RingCodec.encode(new ModuloRing(1, PEERS));
    for (int i : new int[] {0, 4, 5, 9, 20, good.length - 1}) {
      byte[] bad = good.clone();
      bad[i] ^= 0x10;
      assertThatThrownBy(() -> RingCodec.decode(bad)).isInstanceOf(TorusException.class)
          .extracting(e -> ((TorusException) e).code()).isEqualTo(ErrorCode.EIO);
    }
    byte[] cut = java.util.Arrays.copyOf(good, good.length - 7);
    assertThatThrownBy(() -> RingCodec.decode(cut)).isInstanceOf(TorusException.class)
        .hasMessageContaining("corrupt ring");
  }
}
