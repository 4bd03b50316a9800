package io.torus.internal.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.torus.ErrorCode;
import io.torus.TorusException;
import io.torus.spi.BlockStore;
import io.torus.spi.BlockStoreProvider;
import io.torus.spi.StoreConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BlockStoreProvidersTest {
  @TempDir Path dir;

  private static Map<String, BlockStoreProvider> providers() {
    return ServiceLoader.load(BlockStoreProvider.class).stream()
        .map(ServiceLoader.Provider::get)
        .collect(Collectors.toMap(BlockStoreProvider::type, p -> p));
  }

  @Test
  void serviceLoaderFindsMemoryAndFile() {
    assertThat(providers()).containsKeys("memory", "file");
  }

  @Test
  void memoryProviderOpensAVolatileStore() {
    try (BlockStore s = providers().get("memory")
        .open(new StoreConfig(null, 1 << 20, Map.of("name", "cache")))) {
      assertThat(s.name()).isEqualTo("cache");
      assertThat(s.capacity()).isEqualTo(1 << 20);
      assertThat(s.capabilities().persistent()).isFalse();
    }
  }

  @Test
  void fileProviderSpreadsOverDataFiles() {
    Path store = dir.resolve("s");
    try (BlockStore s = providers().get("file")
        .open(new StoreConfig(store, 8L << 20, Map.of("files", "4")))) {
      assertThat(s.capabilities().persistent()).isTrue();
      assertThat(s.capacity()).isEqualTo(8L << 20);
      assertThat(s.name()).contains(store.toString());
    }
    for (int f = 0; f < 4; f++) {
      assertThat(FileStoreOpener.dataFile(store, f)).hasSize(2L << 20);
    }
    assertThat(Files.exists(FileStoreOpener.dataFile(store, 4))).isFalse();
  }

  @Test
  void fileProviderRejectsBadOptions() {
    BlockStoreProvider file = providers().get("file");
    assertThatThrownBy(() -> file.open(new StoreConfig(dir, 1 << 20, Map.of("files", "x"))))
        .isInstanceOf(TorusException.class).hasMessageContaining("files")
        .satisfies(e -> assertThat(((TorusException) e).code()).isEqualTo(ErrorCode.EINVAL));
    assertThatThrownBy(() -> file.open(new StoreConfig(dir, 1 << 20, Map.of("files", "0"))))
        .isInstanceOf(TorusException.class);
    assertThatThrownBy(() -> file.open(new StoreConfig(null, 1 << 20, Map.of())))
        .isInstanceOf(TorusException.class).hasMessageContaining("directory");
    assertThatThrownBy(() -> file.open(new StoreConfig(dir, 100, Map.of())))
        .isInstanceOf(TorusException.class).hasMessageContaining("capacity");
  }
}
