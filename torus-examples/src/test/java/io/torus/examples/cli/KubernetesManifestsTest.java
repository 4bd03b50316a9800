package io.torus.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * The manifests in {@code torus-examples/kubernetes/}: every file parses as YAML documents of
 * Kubernetes objects (apiVersion, kind, metadata.name); every image is the project's own
 * ({@code torus:0.1.0}, built by the Dockerfile there) or a pinned upstream release; every
 * container of the project's image runs a {@code torus} subcommand that exists (or a program
 * the image installs), with options that command has; the files the Dockerfile copies exist;
 * the encrypted StorageClass names a Secret (a placeholder, never a key) the provisioner may
 * read. Where {@code kubectl} is installed (it is not a Debian package here: the test then
 * skips that part), {@code kubectl label --local} decodes every object and {@code kubectl
 * kustomize} builds them all, both without a server.
 */
class KubernetesManifestsTest {
  private static final Path DIR = Path.of("kubernetes");
  private static final String OWN_IMAGE = "torus:0.1.0";
  private static final Set<String> PROGRAMS = Set.of("etcd", "sh", "csi-node-supervisor");

  @Test
  void everyManifestParsesAsKubernetesObjects() throws IOException {
    List<Map<String, Object>> objects = objects();
    assertThat(objects).extracting(o -> o.get("kind")).contains("Namespace", "StatefulSet",
        "DaemonSet", "Deployment", "CSIDriver", "StorageClass", "VolumeSnapshotClass",
        "ClusterRole", "ClusterRoleBinding", "ServiceAccount", "Job", "Service", "Secret",
        "Role", "RoleBinding");
    for (Map<String, Object> o : objects) {
      assertThat(o).containsKeys("apiVersion", "kind", "metadata");
      assertThat(map(o.get("metadata"))).containsKey("name");
    }
  }

  @Test
  void containersRunPinnedImagesAndRealCommands() throws IOException {
    picocli.CommandLine torus = TorusCommand.commandLine(OptionSources.load(Map.of()));
    int own = 0;
    for (Map<String, Object> c : containers(objects())) {
      String image = (String) c.get("image");
      assertThat(image).as("image of %s", c.get("name")).matches("[a-z0-9./-]+:[A-Za-z0-9.]+")
          .doesNotEndWith(":latest");
      if (!image.equals(OWN_IMAGE)) {
        continue;
      }
      own++;
      List<String> command = strings(c.get("command"));
      List<String> args = strings(c.get("args"));
      String program = command.isEmpty() ? "torus" : command.get(0);
      assertThat(program).as("program of %s", c.get("name")).isIn(union(PROGRAMS, "torus"));
      if (program.equals("csi-node-supervisor")) {
        args = new ArrayList<>(args);
        args.add(0, "csi"); // it runs `torus csi ARGS`
        program = "torus";
      }
      if (program.equals("torus")) {
        picocli.CommandLine sub = torus.getSubcommands().get(args.get(0));
        assertThat(sub).as("torus subcommand %s", args.get(0)).isNotNull();
        for (String a : args.subList(1, args.size())) {
          if (a.startsWith("--")) {
            String option = a.contains("=") ? a.substring(0, a.indexOf('=')) : a;
            assertThat(sub.getCommandSpec().findOption(option))
                .as("option %s of torus %s", option, args.get(0)).isNotNull();
          }
        }
      }
    }
    assertThat(own).as("containers of the project's image").isGreaterThanOrEqualTo(5);
  }

  @Test
  void theDockerfileCopiesFilesOfThisProject() throws IOException {
    Path root = Path.of("").toAbsolutePath().getParent();
    Matcher m = Pattern.compile("(?m)^COPY (\\S+) ").matcher(
        Files.readString(DIR.resolve("Dockerfile")));
    int copies = 0;
    while (m.find()) {
      copies++;
      String src = m.group(1);
      if (!src.equals("torus-examples/target/torus.jar")) { // made by mvn package
        assertThat(root.resolve(src)).as("COPY source").isRegularFile();
      }
    }
    assertThat(copies).isEqualTo(3);
  }

  @Test
  void theEncryptedClassNamesASecretTheProvisionerMayRead() throws IOException {
    List<Map<String, Object>> objects = objects();
    Map<String, Object> sc = find(objects, "StorageClass", "torus-encrypted");
    @SuppressWarnings("unchecked")
    Map<String, String> p = (Map<String, String>) sc.get("parameters");
    assertThat(p).containsEntry("encrypted", "true");
    for (String call : List.of("provisioner", "node-stage")) {
      String prefix = "csi.storage.k8s.io/" + call + "-secret-";
      assertThat(p).containsEntry(prefix + "name", "torus-volume-key")
          .containsEntry(prefix + "namespace", "torus");
    }
    Map<String, Object> secret = find(objects, "Secret", "torus-volume-key");
    assertThat(map(secret.get("metadata"))).containsEntry("namespace", "torus");
    String placeholder = (String) map(secret.get("stringData")).get("torusKey");
    assertThat(placeholder).as("the example Secret holds a placeholder, never a key")
        .contains("PLACEHOLDER").doesNotMatch("\\s*[0-9a-fA-F]{64}\\s*");

    Map<String, Object> role = find(objects, "Role", "torus-csi-volume-key");
    assertThat(String.valueOf(role.get("rules"))).contains("secrets", "torus-volume-key",
        "get");
    Map<String, Object> binding = find(objects, "RoleBinding", "torus-csi-volume-key");
    assertThat(String.valueOf(binding.get("subjects"))).contains("torus-csi-controller");
  }

  @Test
  void kubectlDecodesAndBuildsEveryManifestWithoutAServer(@TempDir Path tmp) throws Exception {
    Path kubectl = Stream.of(System.getenv().getOrDefault("PATH", "/usr/bin").split(":"))
        .map(d -> Path.of(d, "kubectl")).filter(Files::isExecutable).findFirst().orElse(null);
    Assumptions.assumeTrue(kubectl != null, "kubectl is not installed");
    List<Map<String, Object>> objects = objects();

    // decoded by kubectl's own codecs: every object, as kind.group/name
    List<String> names = kubectl(kubectl.toString(), "label", "--local", "-o", "name",
        "-f", DIR.toString(), "checked=yes").lines().filter(l -> !l.isBlank()).toList();
    assertThat(names).hasSameSizeAs(objects);
    for (Map<String, Object> o : objects) {
      String kind = ((String) o.get("kind")).toLowerCase(java.util.Locale.ROOT);
      String name = (String) map(o.get("metadata")).get("name");
      assertThat(names).as("kubectl's name of %s %s", kind, name)
          .anyMatch(n -> n.startsWith(kind) && n.endsWith("/" + name));
    }

    // built by kustomize: no two objects share a kind, namespace and name
    StringBuilder k = new StringBuilder("resources:\n");
    try (Stream<Path> s = Files.list(DIR)) {
      for (Path f : s.filter(f -> f.toString().endsWith(".yaml")).sorted().toList()) {
        Files.copy(f, tmp.resolve(f.getFileName()));
        k.append("- ").append(f.getFileName()).append('\n');
      }
    }
    Files.writeString(tmp.resolve("kustomization.yaml"), k.toString());
    String built = kubectl(kubectl.toString(), "kustomize", tmp.toString());
    assertThat(Pattern.compile("(?m)^kind: ").matcher(built).results().count())
        .isEqualTo(objects.size());
  }

  /** Runs kubectl (at most 60 s, then killed); asserts exit 0; returns its standard output. */
  private static String kubectl(String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    try {
      java.util.concurrent.Future<byte[]> out = java.util.concurrent.CompletableFuture
          .supplyAsync(() -> {
            try {
              return p.getInputStream().readAllBytes();
            } catch (IOException e) {
              throw new java.io.UncheckedIOException(e);
            }
          });
      assertThat(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).as("%s finishes",
          String.join(" ", cmd)).isTrue();
      assertThat(p.exitValue()).as("exit of %s", String.join(" ", cmd)).isZero();
      return new String(out.get(10, java.util.concurrent.TimeUnit.SECONDS),
          java.nio.charset.StandardCharsets.UTF_8);
    } finally {
      p.destroyForcibly();
    }
  }

  private static Map<String, Object> find(List<Map<String, Object>> objects, String kind,
      String name) {
    return objects.stream().filter(o -> kind.equals(o.get("kind"))
        && name.equals(map(o.get("metadata")).get("name"))).findFirst()
        .orElseThrow(() -> new AssertionError("no " + kind + " " + name));
  }

  private static Set<String> union(Set<String> s, String extra) {
    Set<String> out = new java.util.HashSet<>(s);
    out.add(extra);
    return out;
  }

  private static List<Map<String, Object>> objects() throws IOException {
    List<Map<String, Object>> out = new ArrayList<>();
    List<Path> files;
    try (Stream<Path> s = Files.list(DIR)) {
      files = s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
    }
    assertThat(files).hasSizeGreaterThanOrEqualTo(9);
    for (Path f : files) {
      Yaml yaml = new Yaml(new SafeConstructor(new LoaderOptions()));
      int docs = 0;
      for (Object doc : yaml.loadAll(Files.readString(f))) {
        assertThat(doc).as("a document of %s", f).isInstanceOf(Map.class);
        out.add(map(doc));
        docs++;
      }
      assertThat(docs).as("documents in %s", f).isPositive();
    }
    return out;
  }

  private static List<Map<String, Object>> containers(List<Map<String, Object>> objects) {
    List<Map<String, Object>> out = new ArrayList<>();
    for (Map<String, Object> o : objects) {
      Map<String, Object> spec = map(o.get("spec"));
      Map<String, Object> template = spec == null ? null : map(spec.get("template"));
      Map<String, Object> podSpec = template == null ? null : map(template.get("spec"));
      if (podSpec != null) {
        for (Object c : (List<?>) podSpec.get("containers")) {
          out.add(map(c));
        }
      }
    }
    return out;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Object o) {
    return (Map<String, Object>) o;
  }

  private static List<String> strings(Object o) {
    List<String> out = new ArrayList<>();
    if (o != null) {
      for (Object x : (List<?>) o) {
        out.add(String.valueOf(x));
      }
    }
    return out;
  }
}
