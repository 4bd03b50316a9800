package io.torus.examples;

import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static io.torus.testing.arch.BoundaryRules.assertNoViolations;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.lang.ArchRule;
import io.torus.testing.arch.BoundaryRules;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * torus-examples' production classes ({@code target/classes}: the {@code torus} command and
 * the embedding examples) against the boundary rules: they use only what any embedder can.
 * The CSI driver ({@code io.torus.examples.csi} and the {@code csi.v1} classes generated from
 * the specification's {@code csi.proto}) is a gRPC server by the specification: it may use
 * gRPC, protobuf and Netty, and nothing else of the module may.
 */
class ExamplesArchitectureTest {
  private static final String[] CSI = {"io.torus.examples.csi..", "csi.v1.."};

  private static JavaClasses examples;
  private static JavaClasses withoutCsi;

  @BeforeAll
  static void importExamples() {
    examples = BoundaryRules.productionClassesOf(LocalVolumeExample.class);
    withoutCsi = examples.that(DescribedPredicate.not(resideInAnyPackage(CSI)));
  }

  @Test
  void usesOnlyThePublicApiOfCore() {
    assertNoViolations(BoundaryRules.NO_ENGINE_USE_OUTSIDE_CORE, examples);
  }

  @Test
  void doesNotTalkToEtcd() {
    assertNoViolations(BoundaryRules.ETCD_ONLY_IN_META_ETCD, withoutCsi);
  }

  @Test
  void doesNotUseNettyOrProtobuf() {
    assertNoViolations(BoundaryRules.NETTY_AND_PROTOBUF_ONLY_IN_TRANSPORT, withoutCsi);
  }

  @Test
  void onlyTheCsiDriverUsesGrpc() {
    ArchRule rule = noClasses().that().resideOutsideOfPackages(CSI)
        .should().dependOnClassesThat().resideInAnyPackage("io.grpc..", "io.netty..",
            "com.google.protobuf..", "csi.v1..")
        .because("gRPC, protobuf and Netty serve the CSI socket only");
    assertNoViolations(rule, examples);
  }

  @Test
  void theCsiDriverIsChecked() {
    org.assertj.core.api.Assertions.assertThat(examples.that(resideInAnyPackage(CSI)))
        .as("CSI classes imported").isNotEmpty();
  }
}
