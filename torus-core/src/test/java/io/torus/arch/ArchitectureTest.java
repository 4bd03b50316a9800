package io.torus.arch;

import static io.torus.testing.arch.BoundaryRules.assertNoViolations;

import com.tngtech.archunit.core.domain.JavaClasses;
import io.torus.Torus;
import io.torus.testing.arch.BoundaryRules;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * torus-core's production classes ({@code target/classes}, generated protobuf messages
 * included) against the boundary rules. A failure lists the violating classes first.
 */
class ArchitectureTest {
  private static JavaClasses core;

  @BeforeAll
  static void importCore() {
    core = BoundaryRules.productionClassesOf(Torus.class);
  }

  @Test
  void onlyTheEtcdPackageUsesJetcdAndGrpc() {
    assertNoViolations(BoundaryRules.ETCD_ONLY_IN_META_ETCD, core);
  }

  @Test
  void onlyTheTransportUsesNettyAndProtobuf() {
    assertNoViolations(BoundaryRules.NETTY_AND_PROTOBUF_ONLY_IN_TRANSPORT, core);
  }

  @Test
  void publicApiUsesTheEngineOnlyThroughItsEntryPoints() {
    assertNoViolations(BoundaryRules.PUBLIC_API_INDEPENDENT_OF_INTERNAL, core);
  }
}
