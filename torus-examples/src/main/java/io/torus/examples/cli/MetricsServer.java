package io.torus.examples.cli;

import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/** A Prometheus scrape endpoint ({@code GET /metrics}) on the JDK's HTTP server. */
final class MetricsServer implements AutoCloseable {
  final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final HttpServer http;

  MetricsServer(HostPort listen) throws IOException {
    http = HttpServer.create(new InetSocketAddress(listen.host(), listen.port()), 16);
    http.createContext("/metrics", exchange -> {
      byte[] body = registry.scrape().getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().add("Content-Type", "text/plain; version=0.0.4");
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    http.start();
  }

  /** The scrape URL. */
  String url() {
    InetSocketAddress a = http.getAddress();
    return "http://" + a.getHostString() + ":" + a.getPort() + "/metrics";
  }

  @Override
  public void close() {
    http.stop(0);
    registry.close();
  }
}
