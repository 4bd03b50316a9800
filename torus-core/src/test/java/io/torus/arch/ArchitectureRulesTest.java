package io.torus.arch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.EvaluationResult;
import io.torus.ArchFixtureApiLeak;
import io.torus.BlockVolume;
import io.torus.TorusBuilder;
import io.torus.VolumeSpec;
import io.torus.archfixture.EngineUser;
import io.torus.archfixture.GrpcOutsideEtcdPackage;
import io.torus.archfixture.JetcdOutsideEtcdPackage;
import io.torus.archfixture.NettyOutsideTransport;
import io.torus.archfixture.NettyTlsOutsideEtcdPackage;
import io.torus.archfixture.ProtobufOutsideTransport;
import io.torus.archfixture.PublicApiUser;
import io.torus.internal.meta.etcd.archfixture.JetcdInEtcdPackage;
import io.torus.internal.meta.etcd.archfixture.NettyBufferInEtcdPackage;
import io.torus.internal.transport.archfixture.NettyInTransport;
import io.torus.spi.ArchFixtureSpiLeak;
import io.torus.testing.arch.BoundaryRules;
import org.junit.jupiter.api.Test;

/**
 * Each rule of {@link BoundaryRules}, the same rule objects the modules' checks use, refuses
 * fixture classes that break it and accepts compliant ones: a rule that cannot fail would
 * guard nothing.
 */
class ArchitectureRulesTest {

  @Test
  void etcdRuleRefusesJetcdAndGrpcOutsideTheEtcdPackage() {
    assertRefuses(BoundaryRules.ETCD_ONLY_IN_META_ETCD, JetcdOutsideEtcdPackage.class);
    assertRefuses(BoundaryRules.ETCD_ONLY_IN_META_ETCD, GrpcOutsideEtcdPackage.class);
  }

  @Test
  void etcdRuleAcceptsJetcdInsideTheEtcdPackage() {
    assertAccepts(BoundaryRules.ETCD_ONLY_IN_META_ETCD, JetcdInEtcdPackage.class,
        PublicApiUser.class, NettyInTransport.class);
  }

  @Test
  void transportRuleRefusesNettyAndProtobufOutsideTheTransport() {
    assertRefuses(BoundaryRules.NETTY_AND_PROTOBUF_ONLY_IN_TRANSPORT,
        NettyOutsideTransport.class);
    assertRefuses(BoundaryRules.NETTY_AND_PROTOBUF_ONLY_IN_TRANSPORT,
        ProtobufOutsideTransport.class);
  }

  @Test
  void transportRuleLetsTheEtcdPackageUseNettyTlsOnly() {
    assertRefuses(BoundaryRules.NETTY_AND_PROTOBUF_ONLY_IN_TRANSPORT,
        NettyBufferInEtcdPackage.class);
    assertRefuses(BoundaryRules.NETTY_AND_PROTOBUF_ONLY_IN_TRANSPORT,
        NettyTlsOutsideEtcdPackage.class);
  }

  @Test
  void transportRuleAcceptsNettyAndProtobufInsideTheTransport() {
    assertAccepts(BoundaryRules.NETTY_AND_PROTOBUF_ONLY_IN_TRANSPORT, NettyInTransport.class,
        PublicApiUser.class, JetcdInEtcdPackage.class);
  }

  @Test
  void publicApiRuleRefusesAnEngineTypeInTheApi() {
    assertRefuses(BoundaryRules.PUBLIC_API_INDEPENDENT_OF_INTERNAL, ArchFixtureApiLeak.class);
  }

  @Test
  void publicApiRuleRefusesFuturesOutsideBlockVolume() {
    assertRefuses(BoundaryRules.PUBLIC_API_INDEPENDENT_OF_INTERNAL, ArchFixtureSpiLeak.class);
  }

  @Test
  void publicApiRuleAcceptsTheNamedEntryPoints() {
    assertAccepts(BoundaryRules.PUBLIC_API_INDEPENDENT_OF_INTERNAL, BlockVolume.class,
        TorusBuilder.class, VolumeSpec.class);
  }

  @Test
  void outsideCoreRuleRefusesEngineUse() {
    assertRefuses(BoundaryRules.NO_ENGINE_USE_OUTSIDE_CORE, EngineUser.class);
  }

  @Test
  void outsideCoreRuleAcceptsThePublicApi() {
    assertAccepts(BoundaryRules.NO_ENGINE_USE_OUTSIDE_CORE, PublicApiUser.class,
        JetcdOutsideEtcdPackage.class);
  }

  @Test
  void failureNamesTheViolatingClass() {
    JavaClasses fixtures = new ClassFileImporter().importClasses(EngineUser.class);
    assertThatThrownBy(() -> BoundaryRules.assertNoViolations(
        BoundaryRules.NO_ENGINE_USE_OUTSIDE_CORE, fixtures))
        .isInstanceOf(AssertionError.class)
        .hasMessageStartingWith("Rule violated by 1 classes: " + EngineUser.class.getName())
        .hasMessageContaining("io.torus.internal.ring.KetamaRing");
  }

  private static void assertRefuses(ArchRule rule, Class<?> fixture) {
    EvaluationResult result = rule.evaluate(new ClassFileImporter().importClasses(fixture));
    assertThat(result.hasViolation()).as("%s refuses %s", rule, fixture).isTrue();
    assertThat(BoundaryRules.violatingClasses(result)).containsExactly(fixture.getName());
  }

  private static void assertAccepts(ArchRule rule, Class<?>... fixtures) {
    EvaluationResult result = rule.evaluate(new ClassFileImporter().importClasses(fixtures));
    assertThat(result.getFailureReport().getDetails()).as("%s", rule).isEmpty();
  }
}
