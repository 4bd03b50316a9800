package io.torus.examples.cli;

import io.torus.TorusException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code torus} command: run a demo, a node or an NBD export, and administer volumes.
 * Errors are one line on standard error: exit status 2 for bad input ({@link UsageError}, and
 * picocli's parse errors), 1 for an operation that failed.
 */
@Command(name = "torus", mixinStandardHelpOptions = true,
    versionProvider = TorusCommand.Version.class,
    description = "Distributed block storage for the JVM.",
    subcommands = {DemoCommand.class, NodeCommand.class, InitCommand.class, PeerCommand.class,
        VolumeCommand.class, SnapshotCommand.class, NbdCommand.class, CsiCommand.class,
        RingCommand.class, StatusCommand.class, KeyCommand.class,
        CommandLine.HelpCommand.class})
public final class TorusCommand {

  @picocli.CommandLine.Option(names = {"-v", "--verbose"}, scope = CommandLine.ScopeType.INHERIT,
      description = "Log debug detail to standard error.")
  boolean verbose;

  /** Runs the command line and exits with its status. */
  public static void main(String[] args) {
    boolean verbose = false;
    for (String a : args) {
      if (a.equals("-v") || a.equals("--verbose")) { // before any logger exists
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "debug");
        verbose = true;
      }
    }
    if (!verbose) { // gRPC (under jetcd) logs start-up details through java.util.logging
      java.util.logging.Logger.getLogger("").setLevel(java.util.logging.Level.WARNING);
    }
    System.exit(run(args));
  }

  /** Runs the command line and returns its exit status (for tests and embedding). */
  public static int run(String... args) {
    return run(System.getenv(), args);
  }

  /**
   * Runs the command line with {@code env} as the environment the options' defaults come
   * from (see {@link OptionSources}) and returns its exit status.
   */
  static int run(java.util.Map<String, String> env, String... args) {
    OptionSources sources;
    try {
      sources = OptionSources.load(env, args);
    } catch (UsageError e) {
      PrintWriter err = new CommandLine(new TorusCommand()).getErr();
      err.println("torus: " + e.getMessage());
      err.flush();
      return 2;
    }
    return commandLine(sources).execute(args);
  }

  /** The command tree with option defaults from {@code sources}. */
  static CommandLine commandLine(OptionSources sources) {
    CommandLine cl = new CommandLine(new TorusCommand());
    cl.registerConverter(Size.class, Size::parse);
    cl.registerConverter(io.torus.Erasure.class, TorusCommand::erasure);
    cl.setExecutionExceptionHandler(TorusCommand::handle);
    cl.setDefaultValueProvider(sources); // after the subcommands exist: reaches them all
    return cl;
  }

  /** An erasure-coding policy option ({@code K+M}); a bad one is a parse error. */
  private static io.torus.Erasure erasure(String text) {
    try {
      return io.torus.Erasure.parse(text);
    } catch (TorusException e) {
      throw new CommandLine.TypeConversionException(e.getMessage());
    }
  }

  private static int handle(Exception e, CommandLine cl, CommandLine.ParseResult parsed) {
    PrintWriter err = cl.getErr();
    if (e instanceof UsageError) {
      err.println("torus: " + e.getMessage());
      err.flush();
      return 2;
    }
    String msg = e instanceof TorusException
        ? ((TorusException) e).code() + ": " + e.getMessage()
        : e.getMessage() != null ? e.getMessage() : e.toString();
    err.println("torus: " + msg + hint(msg));
    err.flush();
    if (Boolean.getBoolean("torus.debug")) {
      e.printStackTrace(err);
    }
    return 1;
  }

  /** What to check for an etcd refusal that gRPC reports by status name only. */
  private static String hint(String msg) {
    if (msg.contains("UNAUTHENTICATED")) {
      return " (etcd refused the credentials: check --etcd-user and its password)";
    }
    if (msg.contains("PERMISSION_DENIED") || msg.contains("user name is empty")) {
      return " (etcd authentication is on: the user needs --etcd-user and a role granting"
          + " readwrite on the key prefix)";
    }
    return "";
  }

  /** Prints the version from the jar's manifest. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = TorusCommand.class.getPackage().getImplementationVersion();
      return new String[] {"torus " + (v == null ? "(development build)" : v)};
    }
  }
}
