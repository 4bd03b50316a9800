package io.torus.testing.arch;

import static com.tngtech.archunit.core.domain.Dependency.Predicates.dependency;
import static com.tngtech.archunit.core.domain.Dependency.Predicates.dependencyTarget;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.lang.conditions.ArchConditions.onlyHaveDependenciesWhere;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.Dependency;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.core.importer.Location;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.EvaluationResult;
import com.tngtech.archunit.lang.ViolationHandler;
import java.net.URISyntaxException;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The package boundaries the build enforces, defined once and checked by every module's
 * tests against that module's own production classes ({@link #productionClassesOf}).
 * {@code ArchitectureRulesTest} in torus-core shows each rule refusing fixture classes that
 * break it. Listed in {@code src-docs/architecture.md}, "Boundaries enforced by the build".
 */
public final class BoundaryRules {
  private BoundaryRules() {}

  /** Where the etcd client may be used: the etcd metadata implementation. */
  public static final String ETCD_PACKAGE = "io.torus.internal.meta.etcd..";

  /** Where Netty and protobuf may be used: the peer protocol, its generated messages too. */
  public static final String TRANSPORT_PACKAGE = "io.torus.internal.transport..";

  /** The engine: no class outside torus-core's public API and the engine itself uses it. */
  public static final String INTERNAL_PACKAGE = "io.torus.internal..";

  /** Only the etcd metadata implementation talks to etcd (jetcd, and gRPC beneath it). */
  public static final ArchRule ETCD_ONLY_IN_META_ETCD = noClasses()
      .that().resideOutsideOfPackage(ETCD_PACKAGE)
      .should().dependOnClassesThat().resideInAnyPackage("io.etcd.jetcd..", "io.grpc..")
      .because("jetcd and gRPC stay behind " + ETCD_PACKAGE + " (STYLE.md, Layout)");

  /**
   * Only the peer transport uses Netty and protobuf. One named exception: jetcd's TLS hook
   * ({@code ClientBuilder.sslContext}) hands the etcd package Netty's
   * {@code SslContextBuilder}, so that package may use {@code io.netty.handler.ssl} and
   * nothing else of Netty. Checked over torus-core: torus-nbd's server is built on Netty by
   * design.
   */
  public static final ArchRule NETTY_AND_PROTOBUF_ONLY_IN_TRANSPORT = classes()
      .that().resideOutsideOfPackage(TRANSPORT_PACKAGE)
      .should(onlyHaveDependenciesWhere(
          DescribedPredicate.not(dependencyTarget(
                  resideInAnyPackage("io.netty..", "com.google.protobuf..")))
              .or(dependency(resideInAPackage(ETCD_PACKAGE),
                  resideInAPackage("io.netty.handler.ssl..")))
              .as("the target is outside io.netty.. and com.google.protobuf.., or the "
                  + "dependency is " + ETCD_PACKAGE + " -> io.netty.handler.ssl.. (jetcd's "
                  + "TLS hook)")))
      .because("Netty and protobuf stay behind " + TRANSPORT_PACKAGE + " (STYLE.md, Layout)");

  /**
   * The only uses of the engine the public API makes, each named: the blocking twins of
   * {@code BlockVolume} join through {@code Futures}; {@code TorusBuilder.build()} starts the
   * node with its configuration; {@code LocalCluster} and {@code TorusResources} are handles
   * of the engine's shared local metadata and shared threads; {@code BlockStores} wraps every
   * store it opens in the contract's checks; {@code KeyProviders} makes the built-in key
   * providers.
   */
  private static final DescribedPredicate<Dependency> PUBLIC_API_ENTRY_POINTS =
      entry("io.torus.BlockVolume", "io.torus.internal.Futures")
          .or(entry("io.torus.TorusBuilder", "io.torus.internal.node.TorusNode"))
          .or(entry("io.torus.TorusBuilder", "io.torus.internal.node.NodeConfig"))
          .or(entry("io.torus.TorusBuilder", "io.torus.internal.node.NodeResources"))
          .or(entry("io.torus.TorusBuilder", "io.torus.internal.rebalance.RebalanceOptions"))
          .or(entry("io.torus.TorusBuilder",
              "io.torus.internal.meta.local.LocalMetadataService"))
          .or(entry("io.torus.LocalCluster", "io.torus.internal.meta.local.LocalMetadataService"))
          .or(entry("io.torus.TorusResources", "io.torus.internal.node.NodeResources"))
          .or(entry("io.torus.spi.BlockStores", "io.torus.internal.storage.CheckedBlockStore"))
          .or(entry("io.torus.KeyProviders", "io.torus.internal.crypto.StaticKeyProvider"))
          .as("one of the named entry points (BlockVolume -> Futures; TorusBuilder -> "
              + "TorusNode, NodeConfig, NodeResources, RebalanceOptions, "
              + "LocalMetadataService; LocalCluster -> LocalMetadataService; TorusResources -> "
              + "NodeResources; BlockStores -> CheckedBlockStore; KeyProviders ->"
              + " StaticKeyProvider)");

  /** A dependency of class {@code from} on class {@code to} or a class nested in it. */
  private static DescribedPredicate<Dependency> entry(String from, String to) {
    return DescribedPredicate.describe(from + " -> " + to, d ->
        d.getOriginClass().getName().equals(from)
            && (d.getTargetClass().getName().equals(to)
                || d.getTargetClass().getName().startsWith(to + "$")));
  }

  /** The public API and the SPI do not reach into the engine, but for the named entry points. */
  public static final ArchRule PUBLIC_API_INDEPENDENT_OF_INTERNAL = classes()
      .that().resideInAnyPackage("io.torus", "io.torus.spi")
      .should(onlyHaveDependenciesWhere(
          DescribedPredicate.not(dependencyTarget(resideInAPackage(INTERNAL_PACKAGE)))
              .or(PUBLIC_API_ENTRY_POINTS)
              .as("the target is outside " + INTERNAL_PACKAGE + " or the dependency is "
                  + PUBLIC_API_ENTRY_POINTS.getDescription())))
      .because("io.torus and io.torus.spi are the stable API; the engine may change freely");

  /**
   * Code outside torus-core that may use the engine, each with its reason. A name covers the
   * class and its nested classes (the classes JMH generates use none of the engine).
   */
  private static final DescribedPredicate<JavaClass> ENGINE_USE_EXEMPTIONS = anyOf(
      // A JMH microbenchmark of the internal ring itself: there is no public way to build a
      // KetamaRing, and timing it through a volume would measure everything but the lookup.
      "io.torus.benchmarks.cluster.RingBenchmark",
      // Reports the bytes the rebalance moved, summed over the peers' replication reports
      // (ClusterStatus read through an EtcdMetadataService of its own): the public
      // ClusterAdmin.replication() gives the bytes left to move and the rate, not that total.
      "io.torus.benchmarks.cluster.RebalanceThroughput",
      // A JMH microbenchmark of the internal Reed–Solomon coder: no volume uses it yet, and
      // timing it through one would measure everything but the coding loops.
      "io.torus.benchmarks.ErasureBenchmark");

  /**
   * Nothing outside torus-core's engine and API uses the engine: torus-nbd (all of it),
   * torus-examples and the benchmarks speak only {@code io.torus} and {@code io.torus.spi}.
   */
  public static final ArchRule NO_ENGINE_USE_OUTSIDE_CORE = noClasses()
      .that().resideOutsideOfPackages("io.torus", "io.torus.spi", INTERNAL_PACKAGE)
      .and(DescribedPredicate.not(ENGINE_USE_EXEMPTIONS))
      .should().dependOnClassesThat().resideInAPackage(INTERNAL_PACKAGE)
      .because("modules built on torus-core use its public API only, like any embedder");

  /**
   * The production classes of the module {@code anchor} belongs to: the directory (or jar) it
   * was loaded from, test classes excluded.
   */
  public static JavaClasses productionClassesOf(Class<?> anchor) {
    try {
      Location where = Location.of(
          anchor.getProtectionDomain().getCodeSource().getLocation().toURI());
      return new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          .importLocations(List.of(where));
    } catch (URISyntaxException e) {
      throw new IllegalStateException("cannot locate the classes of " + anchor, e);
    }
  }

  /**
   * Checks {@code rule}; on a violation fails with the violating classes listed first, then
   * every offending dependency.
   */
  public static void assertNoViolations(ArchRule rule, JavaClasses classes) {
    EvaluationResult result = rule.evaluate(classes);
    if (!result.hasViolation()) {
      return;
    }
    Set<String> origins = violatingClasses(result);
    throw new AssertionError("Rule violated by " + origins.size() + " classes: "
        + String.join(", ", origins) + "\n\n" + result.getFailureReport());
  }

  /** The classes whose dependencies broke the rule, outermost class names, sorted. */
  public static Set<String> violatingClasses(EvaluationResult result) {
    Set<String> origins = new TreeSet<>();
    result.handleViolations(new ViolationHandler<Dependency>() {
      @Override
      public void handle(Collection<Dependency> violating, String message) {
        for (Dependency d : violating) {
          JavaClass c = d.getOriginClass();
          origins.add(c.getName().split("\\$", 2)[0]);
        }
      }
    });
    return origins;
  }

  private static DescribedPredicate<JavaClass> anyOf(String... classNames) {
    List<String> names = List.of(classNames);
    return DescribedPredicate.describe("exempted " + names,
        c -> names.stream().anyMatch(n -> isOrNestedIn(c, n)));
  }

  private static boolean isOrNestedIn(JavaClass c, String className) {
    return c.getName().equals(className) || c.getName().startsWith(className + "$");
  }
}
