package io.torus.testing.tls;

import io.torus.TlsConfig;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * Certificates for TLS tests, made at test time with the JDK's {@code keytool} in a directory
 * the caller owns (and deletes):
 *
 * <ul>
 *   <li>{@code ca}: the cluster CA (EC P-256, self-signed, {@code CN=torus-test-ca});
 *   <li>{@code peer}: signed by it, IP SAN 127.0.0.1 and DNS SAN localhost, usable as server
 *       and client ({@code CN=torus-peer});
 *   <li>{@code client}: signed by it, client authentication only, no SAN
 *       ({@code CN=torus-client});
 *   <li>{@code rogue-ca} and {@code rogue}: an unrelated CA and a peer-like certificate (same
 *       SANs) signed by it, for the negative cases.
 * </ul>
 *
 * <p>Each is written as PEM: {@code NAME.crt} (from {@code keytool -exportcert -rfc} or
 * {@code -gencert -rfc}) and {@code NAME.key}, the private key as unencrypted PKCS#8 PEM
 * (keytool cannot export keys: it is read from the PKCS12 keystore and encoded here).
 * Certificates are valid for two days.
 *
 * <p>Keys are EC P-256 by default. GnuTLS (libnbd, qemu) cannot read the JDK's PKCS#8
 * encoding of an EC key (it omits the optional public key GnuTLS insists on), so tests that
 * hand the files to those tools use {@link #generateRsa} (RSA 2048).
 */
public final class TestPki {
  private static final String PASS = "changeit";
  private static final long KEYTOOL_TIMEOUT_SECONDS = 60;

  private final Path dir;
  private final boolean rsa;

  private TestPki(Path dir, boolean rsa) {
    this.dir = dir;
    this.rsa = rsa;
  }

  /**
   * Generates every certificate into {@code dir} (takes a few seconds: each keytool call is a
   * JVM; the two CA hierarchies are made in parallel).
   */
  public static TestPki generate(Path dir) {
    return generate(dir, false);
  }

  /** As {@link #generate}, with RSA 2048 keys, which GnuTLS-based clients can read. */
  public static TestPki generateRsa(Path dir) {
    return generate(dir, true);
  }

  private static TestPki generate(Path dir, boolean rsa) {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    TestPki pki = new TestPki(dir, rsa);
    CompletableFuture<Void> ours = CompletableFuture.runAsync(() -> {
      pki.makeCa("ca", "CN=torus-test-ca");
      pki.makeLeaf("peer", "ca", "CN=torus-peer", "serverAuth,clientAuth",
          "ip:127.0.0.1,dns:localhost");
      pki.makeLeaf("client", "ca", "CN=torus-client", "clientAuth", null);
    });
    CompletableFuture<Void> rogue = CompletableFuture.runAsync(() -> {
      pki.makeCa("rogue-ca", "CN=rogue-ca");
      pki.makeLeaf("rogue", "rogue-ca", "CN=rogue-peer", "serverAuth,clientAuth",
          "ip:127.0.0.1,dns:localhost");
    });
    CompletableFuture.allOf(ours, rogue).join();
    return pki;
  }

  /** The directory holding the files. */
  public Path dir() {
    return dir;
  }

  /** The PEM certificate file of {@code name}. */
  public Path cert(String name) {
    return dir.resolve(name + ".crt");
  }

  /** The PKCS#8 PEM key file of {@code name}. */
  public Path key(String name) {
    return dir.resolve(name + ".key");
  }

  /** The cluster CA's certificate. */
  public Path ca() {
    return cert("ca");
  }

  /** A peer of the cluster: the {@code peer} certificate, trusting the cluster CA. */
  public TlsConfig peer() {
    return TlsConfig.ofPem(ca(), cert("peer"), key("peer"));
  }

  /** A client-only identity of the cluster, trusting the cluster CA. */
  public TlsConfig client() {
    return TlsConfig.ofPem(ca(), cert("client"), key("client"));
  }

  /** An outsider: a certificate from another CA, trusting that other CA only. */
  public TlsConfig rogue() {
    return TlsConfig.ofPem(cert("rogue-ca"), cert("rogue"), key("rogue"));
  }

  /** An outsider that trusts the cluster CA but presents a certificate from another CA. */
  public TlsConfig rogueTrustingCluster() {
    return TlsConfig.ofPem(ca(), cert("rogue"), key("rogue"));
  }

  /** A JDK {@link SSLContext} with the identity and trust of {@code c} (for test clients). */
  public static SSLContext sslContext(TlsConfig c) {
    return sslContext(c, false);
  }

  /**
   * A JDK {@link SSLContext} with the identity and trust of {@code c}; with {@code always},
   * the client presents its certificate even when the server asks for another CA's (the JDK
   * would otherwise send none), so the server's own validation is exercised.
   */
  public static SSLContext sslContext(TlsConfig c, boolean always) {
    try {
      KeyStore trust = KeyStore.getInstance("PKCS12");
      trust.load(null, null);
      int i = 0;
      for (Certificate cert : certificates(c.caCertificate())) {
        trust.setCertificateEntry("ca" + i++, cert);
      }
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      KeyStore keys = KeyStore.getInstance("PKCS12");
      keys.load(null, null);
      keys.setKeyEntry("me", privateKey(c.privateKey()), PASS.toCharArray(),
          certificates(c.certificateChain()).toArray(new Certificate[0]));
      KeyManagerFactory kmf =
          KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(keys, PASS.toCharArray());
      KeyManager[] km = kmf.getKeyManagers();
      if (always) {
        km = new KeyManager[] {new Insistent((X509ExtendedKeyManager) km[0])};
      }
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(km, tmf.getTrustManagers(), null);
      return ctx;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot build an SSL context from " + c, e);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Offers its one identity whatever issuers the server names. */
  private static final class Insistent extends X509ExtendedKeyManager {
    private final X509ExtendedKeyManager d;

    Insistent(X509ExtendedKeyManager d) {
      this.d = d;
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
      return new String[] {"me"};
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
      return "me";
    }

    @Override
    public String chooseEngineClientAlias(String[] keyType, Principal[] issuers,
        SSLEngine engine) {
      return "me";
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
      return d.getServerAliases(keyType, issuers);
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
      return d.chooseServerAlias(keyType, issuers, socket);
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
      return d.getCertificateChain(alias);
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
      return d.getPrivateKey(alias);
    }
  }

  private static List<Certificate> certificates(Path pem)
      throws IOException, GeneralSecurityException {
    try (InputStream in = Files.newInputStream(pem)) {
      Collection<? extends Certificate> certs =
          CertificateFactory.getInstance("X.509").generateCertificates(in);
      return new ArrayList<>(certs);
    }
  }

  private static PrivateKey privateKey(Path pem) throws IOException, GeneralSecurityException {
    String text = Files.readString(pem, StandardCharsets.US_ASCII)
        .replace("-----BEGIN PRIVATE KEY-----", "").replace("-----END PRIVATE KEY-----", "")
        .replaceAll("\\s", "");
    PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(Base64.getDecoder().decode(text));
    try {
      return KeyFactory.getInstance("EC").generatePrivate(spec);
    } catch (GeneralSecurityException e) {
      return KeyFactory.getInstance("RSA").generatePrivate(spec);
    }
  }

  private void makeCa(String name, String dname) {
    keytool(genkeypair(name, dname, "-ext", "bc:c", "-ext", "ku:c=keyCertSign,cRLSign"));
    keytool("-exportcert", "-rfc", "-alias", name, "-keystore", store(name),
        "-storepass", PASS, "-file", cert(name).toString());
    writeKey(name);
  }

  private void makeLeaf(String name, String ca, String dname, String eku, String san) {
    keytool(genkeypair(name, dname));
    Path csr = dir.resolve(name + ".csr");
    keytool("-certreq", "-alias", name, "-keystore", store(name), "-storepass", PASS,
        "-file", csr.toString());
    List<String> gen = new ArrayList<>(List.of("-gencert", "-rfc", "-alias", ca,
        "-keystore", store(ca), "-storepass", PASS, "-infile", csr.toString(),
        "-outfile", cert(name).toString(), "-validity", "2",
        "-ext", "ku:c=digitalSignature,keyEncipherment", "-ext", "eku=" + eku));
    if (san != null) {
      gen.add("-ext");
      gen.add("san=" + san);
    }
    keytool(gen.toArray(new String[0]));
    writeKey(name);
  }

  private String[] genkeypair(String name, String dname, String... ext) {
    List<String> a = new ArrayList<>(List.of("-genkeypair", "-alias", name));
    a.addAll(rsa ? List.of("-keyalg", "RSA", "-keysize", "2048")
        : List.of("-keyalg", "EC", "-groupname", "secp256r1"));
    a.addAll(List.of("-dname", dname, "-validity", "2"));
    a.addAll(List.of(ext));
    a.addAll(List.of("-keystore", store(name), "-storepass", PASS, "-storetype", "PKCS12"));
    return a.toArray(new String[0]);
  }

  private String store(String name) {
    return dir.resolve(name + ".p12").toString();
  }

  /** Reads the key of {@code name} from its keystore and writes it as PKCS#8 PEM. */
  private void writeKey(String name) {
    try (InputStream in = Files.newInputStream(Path.of(store(name)))) {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(in, PASS.toCharArray());
      PrivateKey k = (PrivateKey) ks.getKey(name, PASS.toCharArray());
      String b64 = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
          .encodeToString(k.getEncoded());
      Files.writeString(key(name), "-----BEGIN PRIVATE KEY-----\n" + b64
          + "\n-----END PRIVATE KEY-----\n", StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot read the key of " + name, e);
    }
  }

  private void keytool(String... args) {
    Path exe = Path.of(System.getProperty("java.home"), "bin", "keytool");
    List<String> cmd = new ArrayList<>();
    cmd.add(exe.toString());
    cmd.add("-J-XX:TieredStopAtLevel=1");
    cmd.add("-J-XX:+UseSerialGC");
    cmd.add("-noprompt");
    cmd.addAll(List.of(args));
    try {
      Path log = Files.createTempFile(dir, "keytool-", ".log");
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
          .redirectOutput(log.toFile()).redirectInput(new File("/dev/null")).start();
      if (!p.waitFor(KEYTOOL_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException("keytool did not finish within "
            + KEYTOOL_TIMEOUT_SECONDS + " s: " + cmd);
      }
      String out = Files.readString(log);
      Files.delete(log);
      if (p.exitValue() != 0) {
        throw new IllegalStateException("keytool failed (" + p.exitValue() + "): " + cmd
            + "\n" + out);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + exe, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
