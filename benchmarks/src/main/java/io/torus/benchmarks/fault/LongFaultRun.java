package io.torus.benchmarks.fault;

import io.torus.fault.FaultSuite;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The long fault run: the same {@link FaultSuite} as {@code FaultSuiteIT}, for minutes to
 * hours, with writer sessions drawn half and half between the Java API writer and the NBD
 * writer ({@link NbdWriterMain}, libnbd through {@code /usr/bin/python3}).
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar io.torus.benchmarks.fault.LongFaultRun \
 *     [-Dtorus.fault.duration=30m] [-Dtorus.fault.seed=N] [-Dtorus.fault.nbd=false] [out-dir]
 * </pre>
 * Prints {@code FaultSuite seed=...} first and a summary line last; exits 1 on any violation
 * (the history is then in {@code out-dir/fault-history-<seed>.txt}, default {@code target}).
 */
public final class LongFaultRun {
  private LongFaultRun() {}

  public static void main(String[] args) throws Exception {
    Path out = Path.of(args.length > 0 ? args[0] : "target");
    boolean nbd = !"false".equals(System.getProperty("torus.fault.nbd"));
    FaultSuite.Config c = FaultSuite.Config.fromSystemProperties(Duration.ofMinutes(30), out,
        nbd ? NbdWriterMain.class.getName() : null);
    FaultSuite.Figures f = FaultSuite.run(c);
    System.out.println("LongFaultRun " + f.summary());
    System.exit(f.violations().isEmpty() ? 0 : 1);
  }
}
