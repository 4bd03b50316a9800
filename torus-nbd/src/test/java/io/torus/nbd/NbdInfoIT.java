package io.torus.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import io.torus.BlockVolume;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** nbdinfo (libnbd) reads what the handshake advertises. */
@Timeout(120)
class NbdInfoIT extends NbdITBase {

  @Test
  void jsonShowsSizeFlagsAndBlockSizes() throws Exception {
    NbdServer s = serve(NbdExport.builder("vol", volume("vol", 64L << 20))
        .description("first volume").build());
    String json = Tools.run(TOOL_TIMEOUT, "nbdinfo", "--json", s.uri("vol")).ok().out();
    assertThat(number(json, "export-size")).isEqualTo(64L << 20);
    for (String flag : List.of("can_flush", "can_fua", "can_trim", "can_zero",
        "can_fast_zero", "can_multi_conn", "can_df")) {
      assertThat(bool(json, flag)).as(flag).isTrue();
    }
    assertThat(bool(json, "is_read_only")).isFalse();
    assertThat(bool(json, "is_rotational")).isFalse();
    assertThat(json).contains("\"base:allocation\"");
    assertThat(json).contains("\"description\": \"first volume\"");
    assertThat(number(json, "block_size_minimum")).isEqualTo(1);
    assertThat(number(json, "block_size_preferred")).isEqualTo(io.torus.VolumeSpec.DEFAULT_BLOCK_SIZE);
    assertThat(number(json, "block_size_maximum")).isEqualTo(32L << 20);
    assertThat(Tools.run(TOOL_TIMEOUT, "nbdinfo", "--can", "structured-reply",
        s.uri("vol")).exit()).isZero();
  }

  @Test
  void listShowsEveryExportWithDescriptions() throws Exception {
    BlockVolume a = volume("a", 1L << 20);
    BlockVolume b = volume("b", 2L << 20);
    BlockVolume c = volume("c", 3L << 20);
    NbdServer s = serve(NbdExport.builder("alpha", a).description("A").build(),
        NbdExport.builder("beta", b).readOnly(true).description("B").build(),
        NbdExport.builder("gamma", c).minimumBlockSize(512).build());
    String json = Tools.run(TOOL_TIMEOUT, "nbdinfo", "--json", "--list", s.uri(""))
        .ok().out();
    Map<String, Long> sizes = Map.of("alpha", 1L << 20, "beta", 2L << 20, "gamma", 3L << 20);
    for (Map.Entry<String, Long> e : sizes.entrySet()) {
      assertThat(json).contains("\"export-name\": \"" + e.getKey() + "\"");
    }
    assertThat(json).contains("\"description\": \"A\"", "\"description\": \"B\"");
    String beta = Tools.run(TOOL_TIMEOUT, "nbdinfo", "--json", s.uri("beta")).ok().out();
    assertThat(bool(beta, "is_read_only")).isTrue();
    assertThat(bool(beta, "can_trim")).isFalse();
    assertThat(number(beta, "export-size")).isEqualTo(2L << 20);
    String gamma = Tools.run(TOOL_TIMEOUT, "nbdinfo", "--json", s.uri("gamma")).ok().out();
    assertThat(number(gamma, "block_size_minimum")).isEqualTo(512);
    Tools.Result unknown = Tools.run(TOOL_TIMEOUT, "nbdinfo", s.uri("nope"));
    assertThat(unknown.exit()).isNotZero();
    assertThat(unknown.err()).contains("No such file or directory"); // ERR_UNKNOWN
  }

  static long number(String json, String key) {
    Matcher m = Pattern.compile("\"" + key + "\":\\s*(\\d+)").matcher(json);
    assertThat(m.find()).as(key + " in " + json).isTrue();
    return Long.parseLong(m.group(1));
  }

  static boolean bool(String json, String key) {
    Matcher m = Pattern.compile("\"" + key + "\":\\s*(true|false)").matcher(json);
    assertThat(m.find()).as(key + " in " + json).isTrue();
    return Boolean.parseBoolean(m.group(1));
  }
}
