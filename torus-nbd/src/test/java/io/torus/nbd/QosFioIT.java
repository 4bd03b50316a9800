package io.torus.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.BlockVolume;
import io.torus.VolumeQos;
import io.torus.VolumeSpec;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Under fio's nbd engine, a volume with a write limit stays within 10 % of it while an
 * unlimited volume exported by the same server, written by the same fio run at the same time,
 * runs far above it. One second of ramp is not counted; the burst is 100 ms, so that a fio
 * starved of CPU for a moment cannot make up for it by more than a few percent.
 */
@Timeout(240)
class QosFioIT extends NbdITBase {
  private static final long WRITE_IOPS = 300;

  @Test
  void aLimitedExportKeepsToItsLimitWhileAnUnlimitedOneIsUnaffected() throws Exception {
    torus.createVolume(VolumeSpec.builder("limited", 128L << 20).replication(1)
        .qos(VolumeQos.builder().writeIops(WRITE_IOPS).burst(Duration.ofMillis(100)).build())
        .build());
    torus.createVolume(VolumeSpec.builder("free", 128L << 20).replication(1).build());
    BlockVolume limited = torus.openVolume("limited");
    volumes.add(limited);
    BlockVolume free = torus.openVolume("free");
    volumes.add(free);
    NbdServer s = serve(NbdExport.builder("limited", limited).build(),
        NbdExport.builder("free", free).build());

    Tools.Result r = Tools.run(TOOL_TIMEOUT, "fio", "--ioengine=nbd", "--rw=randwrite",
        "--bs=4k", "--iodepth=16", "--size=64m", "--time_based", "--ramp_time=1",
        "--runtime=4", "--randseed=" + System.nanoTime() % 100000, "--output-format=json",
        "--name=limited", "--uri=" + s.uri("limited"),
        "--name=free", "--uri=" + s.uri("free")).ok();
    double limitedIops = writeIops(r.out(), "limited");
    double freeIops = writeIops(r.out(), "free");
    System.out.printf("fio randwrite 4k qd16: limited %.1f IOPS (limit %d), unlimited %.1f"
        + " IOPS%n", limitedIops, WRITE_IOPS, freeIops);
    assertThat(r.out()).doesNotContain("\"error\" : 1");
    assertThat(limitedIops).isBetween(0.9 * WRITE_IOPS, 1.1 * WRITE_IOPS);
    assertThat(freeIops).isGreaterThan(5.0 * WRITE_IOPS);
  }

  /** The write IOPS fio reports for job {@code name} in its JSON output. */
  private static double writeIops(String json, String name) {
    int at = json.indexOf("\"jobname\" : \"" + name + "\"");
    assertThat(at).as("job %s in%n%s", name, json).isNotNegative();
    Matcher m = Pattern.compile("\"write\" : \\{[^{}]*?\"iops\" : ([0-9.]+)")
        .matcher(json.substring(at));
    assertThat(m.find()).as("write iops of job %s", name).isTrue();
    return Double.parseDouble(m.group(1));
  }
}
