package io.torus.examples.cli;

import io.torus.KeyProviders;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code torus key generate}: a new key-encryption key for encrypted volumes. */
@Command(name = "key", mixinStandardHelpOptions = true,
    description = "Key-encryption keys for encrypted volumes.",
    subcommands = KeyCommand.Generate.class)
final class KeyCommand {

  @Command(name = "generate", mixinStandardHelpOptions = true,
      description = "Write a new random 256-bit key-encryption key (64 hex digits) to a new"
          + " file readable by its owner only, and print its id.")
  static final class Generate implements Callable<Integer> {
    @Option(names = "--out", required = true, paramLabel = "FILE",
        description = "The key file to create; an existing file is never overwritten.")
    Path out;

    @Override
    public Integer call() {
      String hex = KeyProviders.generateHex();
      try {
        Files.write(Files.createFile(out, PosixFilePermissions.asFileAttribute(
            PosixFilePermissions.fromString("rw-------"))),
            (hex + "\n").getBytes(StandardCharsets.US_ASCII), StandardOpenOption.WRITE);
      } catch (FileAlreadyExistsException e) {
        throw new UsageError(out + " exists; a key file is never overwritten");
      } catch (IOException e) {
        throw new UsageError("cannot write " + out + ": " + e.getMessage());
      }
      System.out.printf("wrote key %s to %s%n", KeyProviders.keyFile(out).keyId(), out);
      return 0;
    }
  }
}
