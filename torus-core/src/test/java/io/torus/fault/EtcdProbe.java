package io.torus.fault;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Read-only looks at etcd through its JSON gateway ({@code /v3/...}), for the fault driver:
 * which member leads, and the create revision of the volume's writer lock (its fencing epoch).
 * Every call is bounded (1 s); failures answer -1. Thread-safe.
 */
final class EtcdProbe {
  private static final Pattern CREATE = Pattern.compile("\"create_revision\":\"?(\\d+)");
  private static final Pattern MEMBER = Pattern.compile("\"member_id\":\"?(\\d+)");
  private static final Pattern LEADER = Pattern.compile("\"leader\":\"?(\\d+)");

  private final HttpClient http = HttpClient.newBuilder()
      .connectTimeout(Duration.ofMillis(500)).build();
  private final List<String> endpoints;
  private final String prefix;
  private volatile long volumeId = -1;

  EtcdProbe(List<String> endpoints, String prefix) {
    this.endpoints = List.copyOf(endpoints);
    this.prefix = prefix;
  }

  void volumeId(long id) {
    this.volumeId = id;
  }

  /** The index of the member that says it leads, or -1. */
  int leader() {
    for (int i = 0; i < endpoints.size(); i++) {
      String body = post(endpoints.get(i), "/v3/maintenance/status", "{}");
      if (body == null) {
        continue;
      }
      Matcher m = MEMBER.matcher(body);
      Matcher l = LEADER.matcher(body);
      if (m.find() && l.find() && m.group(1).equals(l.group(1))) {
        return i;
      }
    }
    return -1;
  }

  /** The create revision of the volume's lock key, or -1 (no lock, or etcd did not answer). */
  long lockEpoch() {
    if (volumeId < 0) {
      return -1;
    }
    String key = prefix + "/v1/volumes/" + String.format("%016x", volumeId) + "/lock";
    String req = "{\"key\":\"" + Base64.getEncoder().encodeToString(
        key.getBytes(StandardCharsets.UTF_8)) + "\"}";
    for (String e : endpoints) {
      String body = post(e, "/v3/kv/range", req);
      if (body != null) {
        Matcher m = CREATE.matcher(body);
        return m.find() ? Long.parseLong(m.group(1)) : -1;
      }
    }
    return -1;
  }

  private String post(String endpoint, String path, String json) {
    try {
      HttpRequest r = HttpRequest.newBuilder(URI.create(endpoint + path))
          .timeout(Duration.ofSeconds(1))
          .POST(HttpRequest.BodyPublishers.ofString(json)).build();
      HttpResponse<String> resp = http.send(r, HttpResponse.BodyHandlers.ofString());
      return resp.statusCode() == 200 ? resp.body() : null;
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }
}
