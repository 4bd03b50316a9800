package io.torus.examples.cli;

import picocli.CommandLine;

/** A {@code HOST:PORT} listen or connect address. */
record HostPort(String host, int port) {

  static HostPort parse(String text) {
    int colon = text.lastIndexOf(':');
    if (colon <= 0 || colon == text.length() - 1) {
      throw new CommandLine.TypeConversionException("expected HOST:PORT, got '" + text + "'");
    }
    String host = text.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port;
    try {
      port = Integer.parseInt(text.substring(colon + 1));
    } catch (NumberFormatException e) {
      port = -1;
    }
    if (port < 0 || port > 65535) {
      throw new CommandLine.TypeConversionException("bad port in '" + text + "'");
    }
    return new HostPort(host, port);
  }
}
