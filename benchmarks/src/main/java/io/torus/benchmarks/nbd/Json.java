package io.torus.benchmarks.nbd;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The smallest JSON reader fio's {@code --output-format=json} needs: objects become
 * {@code Map<String, Object>}, arrays {@code List<Object>}, numbers {@code Double}, and
 * strings, booleans and null what they are. Text before the first '{' (fio prints notes such
 * as "connected to NBD server" there) is skipped. Not thread-safe; one instance per text.
 */
final class Json {
  private final String s;
  private int i;

  private Json(String s) {
    this.s = s;
  }

  /** Parses the first JSON object in {@code text}; throws if there is none or it is bad. */
  static Map<String, Object> parseObject(String text) {
    int start = text.indexOf('{');
    if (start < 0) {
      throw new IllegalArgumentException("no JSON object in: " + abbreviate(text));
    }
    Json p = new Json(text);
    p.i = start;
    return p.object();
  }

  /** The value at {@code path} (keys of nested objects); throws naming the missing key. */
  static Object at(Map<String, Object> root, String... path) {
    Object o = root;
    for (String k : path) {
      if (!(o instanceof Map<?, ?> m) || !m.containsKey(k)) {
        throw new IllegalArgumentException("no '" + k + "' in fio output (path "
            + String.join(".", path) + ")");
      }
      o = m.get(k);
    }
    return o;
  }

  /** The number at {@code path}. */
  static double num(Map<String, Object> root, String... path) {
    return ((Number) at(root, path)).doubleValue();
  }

  /** The object at {@code path}. */
  @SuppressWarnings("unchecked")
  static Map<String, Object> obj(Map<String, Object> root, String... path) {
    return (Map<String, Object>) at(root, path);
  }

  private Object value() {
    ws();
    char c = s.charAt(i);
    switch (c) {
      case '{': return object();
      case '[': return array();
      case '"': return string();
      case 't': i += 4; return Boolean.TRUE;
      case 'f': i += 5; return Boolean.FALSE;
      case 'n': i += 4; return null;
      default: return number();
    }
  }

  private Map<String, Object> object() {
    Map<String, Object> m = new LinkedHashMap<>();
    expect('{');
    ws();
    if (peek() == '}') {
      i++;
      return m;
    }
    while (true) {
      ws();
      String k = string();
      ws();
      expect(':');
      m.put(k, value());
      ws();
      if (peek() == ',') {
        i++;
      } else {
        expect('}');
        return m;
      }
    }
  }

  private List<Object> array() {
    List<Object> l = new ArrayList<>();
    expect('[');
    ws();
    if (peek() == ']') {
      i++;
      return l;
    }
    while (true) {
      l.add(value());
      ws();
      if (peek() == ',') {
        i++;
      } else {
        expect(']');
        return l;
      }
    }
  }

  private String string() {
    expect('"');
    StringBuilder b = new StringBuilder();
    while (true) {
      char c = s.charAt(i++);
      if (c == '"') {
        return b.toString();
      }
      if (c == '\\') {
        char e = s.charAt(i++);
        switch (e) {
          case 'n': b.append('\n'); break;
          case 't': b.append('\t'); break;
          case 'r': b.append('\r'); break;
          case 'b': b.append('\b'); break;
          case 'f': b.append('\f'); break;
          case 'u': b.append((char) Integer.parseInt(s.substring(i, i + 4), 16)); i += 4; break;
          default: b.append(e);
        }
      } else {
        b.append(c);
      }
    }
  }

  private Double number() {
    int start = i;
    while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) {
      i++;
    }
    if (start == i) {
      throw new IllegalArgumentException("bad JSON at " + i + ": " + abbreviate(s.substring(i)));
    }
    return Double.valueOf(s.substring(start, i));
  }

  private void ws() {
    while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
      i++;
    }
  }

  private char peek() {
    return s.charAt(i);
  }

  private void expect(char c) {
    if (i >= s.length() || s.charAt(i) != c) {
      throw new IllegalArgumentException("expected '" + c + "' at " + i + " of fio output: "
          + abbreviate(s.substring(Math.min(i, s.length()))));
    }
    i++;
  }

  private static String abbreviate(String t) {
    return t.length() > 200 ? t.substring(0, 200) + "..." : t;
  }
}
