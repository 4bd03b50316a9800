package io.torus.nbd;

import static io.torus.testing.arch.BoundaryRules.assertNoViolations;

import com.tngtech.archunit.core.domain.JavaClasses;
import io.torus.testing.arch.BoundaryRules;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * torus-nbd's production classes ({@code target/classes}) against the boundary rules: the NBD
 * server, its internal package included, is built on torus-core's public API alone. Netty is
 * its own transport here, so the transport rule does not apply.
 */
class NbdArchitectureTest {
  private static JavaClasses nbd;

  @BeforeAll
  static void importNbd() {
    nbd = BoundaryRules.productionClassesOf(NbdServer.class);
  }

  @Test
  void usesOnlyThePublicApiOfCore() {
    assertNoViolations(BoundaryRules.NO_ENGINE_USE_OUTSIDE_CORE, nbd);
  }

  @Test
  void doesNotTalkToEtcd() {
    assertNoViolations(BoundaryRules.ETCD_ONLY_IN_META_ETCD, nbd);
  }
}
