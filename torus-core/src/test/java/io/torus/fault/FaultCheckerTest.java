package io.torus.fault;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.fault.FaultChecker.Kind;
import io.torus.fault.FaultChecker.Violation;
import io.torus.fault.History.Op;
import io.torus.fault.History.Session;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The fault suite's checker on hand-made histories that must pass and must fail. */
class FaultCheckerTest {
  private static final long VOL = 7;
  private final History h = new History();

  private Session open(int writer, long start, long end) {
    Session s = h.openInvoked(writer, "java", start);
    h.opened(s, end, 100 + writer);
    return s;
  }

  private Op write(int writer, long op, int block, long invoke, long complete, boolean ok) {
    Op o = h.writeInvoked(writer, op, block, false, invoke);
    if (complete >= 0) {
      h.completed(o, complete, invoke + 1, ok, ok ? null : "EIO");
    }
    return o;
  }

  private Op flush(int writer, long op, long invoke, long childStart, long complete,
      boolean ok) {
    Op o = h.flushInvoked(writer, op, invoke);
    if (complete >= 0) {
      h.completed(o, complete, childStart, ok, ok ? null : "LeaseLostException");
    }
    return o;
  }

  private void read(int block, long open, Payload.Value v) {
    h.read(new History.Read("verify", block, open, open + 5, open + 6, v, null));
  }

  private List<Violation> check() {
    return new FaultChecker(h, VOL).check();
  }

  private static Payload.Value w(int writer, long op) {
    return new Payload.Written(writer, op);
  }

  @Test
  void lastFlushedValueAndZerosOfUntouchedBlocksPass() {
    open(1, 0, 10);
    write(1, 1, 0, 20, 21, true);
    flush(1, 2, 22, 23, 30, true);
    read(0, 40, w(1, 1));
    read(1, 40, new Payload.Zero());
    assertThat(check()).isEmpty();
  }

  @Test
  void aWriteAfterTheLastAckedFlushMayOrMayNotBeThere() {
    open(1, 0, 10);
    write(1, 1, 0, 20, 21, true);
    flush(1, 2, 22, 23, 30, true);
    write(1, 3, 0, 31, 32, true);
    flush(1, 4, 33, -1, -1, true); // no reply: unknown
    read(0, 40, w(1, 1));
    read(0, 41, w(1, 3));
    write(1, 5, 0, 50, -1, true); // unknown write, then a failed flush
    flush(1, 6, 51, 52, 60, false);
    read(0, 70, w(1, 5));
    assertThat(check()).isEmpty();
  }

  @Test
  void aStaleValueAfterANewerAckedFlushFails() {
    open(1, 0, 10);
    write(1, 1, 0, 20, 21, true);
    flush(1, 2, 22, 23, 30, true);
    write(1, 3, 0, 31, 32, true);
    flush(1, 4, 33, 34, 35, true);
    read(0, 40, w(1, 1));
    List<Violation> v = check();
    assertThat(v).extracting(Violation::kind).containsExactly(Kind.LOST_ACKED);
    assertThat(v.get(0).message()).contains("w1/op3");
  }

  @Test
  void aFlushStillRunningWhenTheReaderOpenedPromisesNothing() {
    open(1, 0, 10);
    write(1, 1, 0, 20, 21, true);
    flush(1, 2, 22, 23, 30, true);
    write(1, 3, 0, 31, 32, true);
    flush(1, 4, 33, 34, 45, true); // acked after the reader opened at 40
    read(0, 40, w(1, 1));
    assertThat(check()).isEmpty();
  }

  @Test
  void aLostAckedFlushFails() {
    open(1, 0, 10);
    write(1, 1, 3, 20, 21, true);
    flush(1, 2, 22, 23, 30, true);
    read(3, 40, new Payload.Zero());
    assertThat(check()).extracting(Violation::kind).containsExactly(Kind.LOST_ACKED);
  }

  @Test
  void garbageAndNeverWrittenPayloadsFail() {
    open(1, 0, 10);
    write(1, 1, 0, 20, 21, true);
    flush(1, 2, 22, 23, 30, true);
    byte[] bytes = Payload.encode(4096, VOL, 0, 1, 1);
    bytes[100] ^= 1;
    read(0, 40, Payload.decode(bytes, VOL, 0));
    read(1, 40, w(1, 1)); // the payload of block 0 read at block 1 decodes as garbage
    read(2, 40, w(1, 99));
    h.read(new History.Read("verify", 1, 40, 45, 46,
        Payload.decode(Payload.encode(4096, VOL, 0, 1, 1), VOL, 1), null));
    assertThat(check()).extracting(Violation::kind).containsExactly(Kind.GARBAGE,
        Kind.NEVER_WRITTEN, Kind.NEVER_WRITTEN, Kind.GARBAGE);
  }

  @Test
  void anUnflushedWriteMustNotBeVisibleToAFreshReader() {
    open(1, 0, 10);
    write(1, 1, 0, 20, 21, true);
    read(0, 40, w(1, 1));
    flush(1, 2, 50, 51, 52, true); // sent after the reader opened
    assertThat(check()).extracting(Violation::kind).containsExactly(Kind.UNCOMMITTED);
  }

  @Test
  void theOldWritersValueAfterATakeoverFlushFails() {
    open(1, 0, 10);
    write(1, 1, 0, 20, 21, true);
    flush(1, 2, 22, 23, 30, true);
    write(1, 3, 0, 31, 32, true);
    flush(1, 4, 33, -1, -1, true); // writer 1 paused in this flush
    open(2, 35, 100);
    write(2, 5, 0, 101, 102, true);
    flush(2, 6, 103, 104, 110, true);
    read(0, 120, w(2, 5));
    assertThat(check()).isEmpty();
    read(0, 130, w(1, 3)); // writer 1's unknown write resurfacing over writer 2's flush
    assertThat(check()).extracting(Violation::kind).containsExactly(Kind.LOST_ACKED);
  }

  @Test
  void aFencedWritersFlushAckedAfterTheTakeoverFails() {
    open(1, 0, 10);
    write(1, 1, 0, 20, 21, true);
    Op early = flush(1, 2, 22, 23, 150, true); // began before the takeover: may be acked
    open(2, 30, 100);
    write(1, 3, 0, 40, 160, true);
    flush(1, 4, 41, 161, 170, true); // began (in writer 1) after writer 2 held the lock
    List<Violation> v = check();
    assertThat(v).extracting(Violation::kind).containsExactly(Kind.FENCED_ACK);
    assertThat(v.get(0).message()).contains("w1/op4").contains("w2");
    assertThat(early.outcome).isEqualTo(History.Outcome.OK);
  }

  @Test
  void aFailedReadAfterHealingFails() {
    open(1, 0, 10);
    h.read(new History.Read("final", 4, 40, 45, 46, null, "BlockUnavailableException"));
    assertThat(check()).extracting(Violation::kind).containsExactly(Kind.UNREADABLE);
  }

  @Test
  void payloadRoundTrips() {
    byte[] a = Payload.encode(4096, VOL, 5, 3, 77);
    assertThat(Payload.decode(a, VOL, 5)).isEqualTo(new Payload.Written(3, 77));
    assertThat(Payload.decode(new byte[4096], VOL, 5)).isEqualTo(new Payload.Zero());
    assertThat(Payload.decode(a, VOL + 1, 5)).isInstanceOf(Payload.Garbage.class);
    a[4000] ^= (byte) 0x80;
    assertThat(Payload.decode(a, VOL, 5)).isInstanceOf(Payload.Garbage.class);
    byte[] torn = Payload.encode(4096, VOL, 5, 3, 77);
    System.arraycopy(Payload.encode(4096, VOL, 5, 3, 78), 2048, torn, 2048, 2048);
    assertThat(Payload.decode(torn, VOL, 5)).isInstanceOf(Payload.Garbage.class);
  }
}
