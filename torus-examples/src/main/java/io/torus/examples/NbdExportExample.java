package io.torus.examples;

import io.torus.BlockVolume;
import io.torus.Torus;
import io.torus.VolumeSpec;
import io.torus.nbd.NbdExport;
import io.torus.nbd.NbdServer;

/**
 * Exporting a volume over NBD from your own service: an in-memory node, a volume, and an
 * {@link NbdServer} on loopback that nbdinfo, qemu-io, nbdcopy or fio can use. The server
 * closes (flushing) the volume when it stops.
 *
 * <p>Run: {@code java -cp torus.jar io.torus.examples.NbdExportExample 10810}, then
 * {@code nbdinfo nbd://127.0.0.1:10810/scratch}; Ctrl-C stops it.
 */
public final class NbdExportExample implements AutoCloseable {
  private final Torus torus;
  private final NbdServer server;

  /** Starts a node and serves a 256 MiB volume "scratch" on 127.0.0.1:{@code port}. */
  public NbdExportExample(int port) {
    torus = Torus.builder().build(); // in memory: gone when the process exits
    torus.createVolume(VolumeSpec.builder("scratch", 256L << 20).replication(1).build());
    BlockVolume volume = torus.openVolume("scratch");
    server = NbdServer.builder().bindAddress("127.0.0.1").port(port)
        .addExport(NbdExport.builder("scratch", volume).closeVolumeOnStop(true).build())
        .start();
  }

  /** The export's URI. */
  public String uri() {
    return server.uri("scratch");
  }

  @Override
  public void close() {
    try {
      server.close();
    } finally {
      torus.close();
    }
  }

  public static void main(String[] args) throws InterruptedException {
    NbdExportExample example = new NbdExportExample(
        args.length > 0 ? Integer.parseInt(args[0]) : 10810);
    Runtime.getRuntime().addShutdownHook(new Thread(example::close));
    System.out.println("serving " + example.uri());
    Thread.currentThread().join();
  }
}
