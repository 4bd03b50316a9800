package io.torus.examples;

import static io.torus.testing.arch.BoundaryRules.assertNoViolations;

import com.tngtech.archunit.core.domain.JavaClasses;
import io.torus.testing.arch.BoundaryRules;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * torus-examples' production classes ({@code target/classes}: the {@code torus} command and
 * the embedding examples) against the boundary rules: they use only what any embedder can.
 */
class ExamplesArchitectureTest {
  private static JavaClasses examples;

  @BeforeAll
  static void importExamples() {
    examples = BoundaryRules.productionClassesOf(LocalVolumeExample.class);
  }

  @Test
  void usesOnlyThePublicApiOfCore() {
    assertNoViolations(BoundaryRules.NO_ENGINE_USE_OUTSIDE_CORE, examples);
  }

  @Test
  void doesNotTalkToEtcd() {
    assertNoViolations(BoundaryRules.ETCD_ONLY_IN_META_ETCD, examples);
  }

  @Test
  void doesNotUseNettyOrProtobuf() {
    assertNoViolations(BoundaryRules.NETTY_AND_PROTOBUF_ONLY_IN_TRANSPORT, examples);
  }
}
