package io.torus.examples.cli;

/**
 * Bad command-line input found after parsing (options that go together, unreadable files, a
 * bad config file): reported as one line on standard error with exit status 2, like a parse
 * error. The message never holds a password or the content of a key file.
 */
final class UsageError extends RuntimeException {
  private static final long serialVersionUID = 1L;

  UsageError(String message) {
    super(message, null, false, false);
  }
}
