package io.torus.benchmarks;

import static io.torus.testing.arch.BoundaryRules.assertNoViolations;

import com.tngtech.archunit.core.domain.JavaClasses;
import io.torus.testing.arch.BoundaryRules;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The benchmarks' production classes ({@code target/classes}, JMH's generated classes
 * included) against the boundary rules: they measure what an embedder gets, through the public
 * API, but for the exemptions {@link BoundaryRules#NO_ENGINE_USE_OUTSIDE_CORE} names.
 */
class BenchmarksArchitectureTest {
  private static JavaClasses benchmarks;

  @BeforeAll
  static void importBenchmarks() {
    benchmarks = BoundaryRules.productionClassesOf(VolumeBenchmark.class);
  }

  @Test
  void usesOnlyThePublicApiOfCoreButForTheNamedExemptions() {
    assertNoViolations(BoundaryRules.NO_ENGINE_USE_OUTSIDE_CORE, benchmarks);
  }

  @Test
  void doesNotTalkToEtcd() {
    assertNoViolations(BoundaryRules.ETCD_ONLY_IN_META_ETCD, benchmarks);
  }

  @Test
  void doesNotUseNettyOrProtobuf() {
    assertNoViolations(BoundaryRules.NETTY_AND_PROTOBUF_ONLY_IN_TRANSPORT, benchmarks);
  }
}
