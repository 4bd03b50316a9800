package io.torus.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalVolumeExampleTest {
  @TempDir
  Path dir;

  @Test
  void writesAndReadsBackAcrossARestart() {
    assertThat(LocalVolumeExample.run(dir)).isEqualTo("hello from a Torus volume");
    assertThat(LocalVolumeExample.run(dir)).as("second run reuses the volume")
        .isEqualTo("hello from a Torus volume");
  }
}
