package io.torus.examples.cli;

/** Entry point of the {@code torus} command. */
public final class TorusCommand {
  private TorusCommand() {}

  public static void main(String[] args) {
    System.out.println("torus");
  }
}
