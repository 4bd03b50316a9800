package io.torus.examples.csi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.torus.KeyProviders;
import io.torus.VolumeInfo;
import io.torus.VolumeKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The key-encryption key from CSI secrets: the text {@code torus key generate} writes, the
 * same id as the command line's {@code --key-file}, the status codes of a missing, malformed
 * or wrong key, and that no message or {@code toString} holds the key. Also the
 * {@code encrypted} StorageClass parameter.
 */
class SecretKekTest {
  @TempDir
  Path dir;

  private static StatusRuntimeException failure(Runnable r) {
    StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class, r::run);
    assertThat(e).as("fails").isNotNull();
    return e;
  }

  @Test
  void theKeyGenerateTextHasTheIdOfTheKeyFile() throws Exception {
    String hex = KeyProviders.generateHex();
    Path file = dir.resolve("kek");
    Files.writeString(file, hex + "\n"); // as torus key generate writes it
    SecretKek k = SecretKek.from(Map.of("torusKey", Files.readString(file)));
    assertThat(k.id()).isEqualTo(KeyProviders.keyFile(file).keyId()).startsWith("static:");
    assertThat(k.toString()).isEqualTo(k.id()).doesNotContain(hex);
    assertThat(k.environment()).containsOnlyKeys("TORUS_CSI_KEK");
    assertThat(KeyProviders.ofKey(HexFormat.of().parseHex(k.environment().get("TORUS_CSI_KEK")))
        .keyId()).isEqualTo(k.id());
    String b64 = Base64.getEncoder().encodeToString(HexFormat.of().parseHex(hex));
    assertThat(SecretKek.from(Map.of("torusKey", b64)).id()).isEqualTo(k.id());
    assertThat(SecretKek.from(Map.of("torusKey", hex.toUpperCase())).id()).isEqualTo(k.id());
  }

  @Test
  void missingAndMalformedKeysAreInvalidArgumentsThatNeverQuoteTheSecret() {
    assertThat(SecretKek.from(Map.of())).isNull();
    assertThat(SecretKek.from(Map.of("other", KeyProviders.generateHex()))).isNull();
    StatusRuntimeException none = failure(() -> SecretKek.require(Map.of(), "an encrypted"
        + " volume"));
    assertThat(none.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(none.getStatus().getDescription()).contains("torusKey");

    String almost = KeyProviders.generateHex().substring(0, 63) + "z"; // one digit wrong
    String badB64 = "!".repeat(43) + "=";
    for (String bad : new String[] {almost, badB64, "secret-password-123"}) {
      StatusRuntimeException e = failure(() -> SecretKek.from(Map.of("torusKey", bad)));
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(e.getStatus().getDescription()).contains("torusKey").doesNotContain(bad)
          .doesNotContain(bad.substring(0, 8));
    }
  }

  @Test
  void aVolumeNeedsTheKeyItWasWrappedWith() {
    SecretKek right = SecretKek.from(Map.of("torusKey", KeyProviders.generateHex()));
    String wrongHex = KeyProviders.generateHex();
    VolumeInfo enc = new VolumeInfo(7, "pvc-enc", 1 << 20, 4096, 2, Instant.EPOCH,
        VolumeKeys.forNewVolume(right.provider()));
    VolumeInfo plain = new VolumeInfo(8, "pvc-plain", 1 << 20, 4096, 2, Instant.EPOCH, null);

    assertThat(SecretKek.forVolume(plain, Map.of(), "NodeStageVolume")).isNull();
    assertThat(SecretKek.forVolume(enc, Map.of("torusKey", right.environment()
        .get("TORUS_CSI_KEK")), "NodeStageVolume").id()).isEqualTo(right.id());

    StatusRuntimeException none = failure(() -> SecretKek.forVolume(enc, Map.of(),
        "NodeStageVolume"));
    assertThat(none.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(none.getStatus().getDescription()).contains(right.id(), "torusKey");

    StatusRuntimeException wrong = failure(() -> SecretKek.forVolume(enc,
        Map.of("torusKey", wrongHex), "NodeStageVolume"));
    assertThat(wrong.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(wrong.getStatus().getDescription()).contains(right.id())
        .doesNotContain(wrongHex);
    // the library's own refusal (EPERM) maps to the same code
    assertThat(CsiErrors.of(new io.torus.EncryptionKeyException("volume 'x' is encrypted"
        + " with key static:0011223344556677")).getStatus().getCode())
        .isEqualTo(Status.Code.PERMISSION_DENIED);
  }

  @Test
  void theEncryptedParameter() {
    assertThat(VolumeParameters.parse(Map.of("encrypted", "true")).encrypted()).isTrue();
    assertThat(VolumeParameters.parse(Map.of("encrypted", "false")).encrypted()).isFalse();
    assertThat(VolumeParameters.parse(Map.of()).encrypted()).isFalse();
    assertThat(failure(() -> VolumeParameters.parse(Map.of("encrypted", "yes"))).getStatus()
        .getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    SecretKek k = SecretKek.from(Map.of("torusKey", KeyProviders.generateHex()));
    VolumeInfo enc = new VolumeInfo(7, "v", 1 << 20, 4096, 2, Instant.EPOCH,
        VolumeKeys.forNewVolume(k.provider()));
    VolumeInfo plain = new VolumeInfo(8, "w", 1 << 20, 4096, 2, Instant.EPOCH, null);
    VolumeParameters encrypted = VolumeParameters.parse(Map.of("encrypted", "true"));
    assertThat(encrypted.matches(enc)).isTrue();
    assertThat(encrypted.matches(plain)).isFalse();
    assertThat(VolumeParameters.parse(Map.of()).matches(enc)).isFalse();
  }
}
