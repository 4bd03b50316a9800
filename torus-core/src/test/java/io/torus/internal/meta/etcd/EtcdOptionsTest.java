package io.torus.internal.meta.etcd;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The etcd options never show the password. */
class EtcdOptionsTest {
  @Test
  void theTextFormHidesThePassword() {
    EtcdOptions o = EtcdMetadataService.builder().endpoints(List.of("http://127.0.0.1:2379"))
        .credentials("torus", "s3cret-Pa55").options();
    assertThat(o.toString()).contains("user=torus").contains("(hidden)")
        .doesNotContain("s3cret-Pa55");
    assertThat(o.password()).isEqualTo("s3cret-Pa55");
  }
}
