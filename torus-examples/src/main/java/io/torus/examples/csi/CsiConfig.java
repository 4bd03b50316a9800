package io.torus.examples.csi;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * How one {@code torus csi} plugin runs.
 *
 * @param driverName the CSI driver name (GetPluginInfo), e.g. {@code csi.torus.io}
 * @param vendorVersion the version GetPluginInfo reports
 * @param controller serve the Controller service
 * @param node serve the Node service
 * @param nodeId this node's id (NodeGetInfo)
 * @param stateDir where the node plugin keeps what must outlive it (see {@link StageState})
 * @param clusterName the value of the topology key {@link #TOPOLOGY_KEY}: the Torus cluster
 *     whose volumes this plugin serves; every node of it reaches every volume
 * @param minPeers peers that must be up for Probe to report healthy
 * @param defaultSize bytes of a volume created without a capacity range
 * @param maxVolumesPerNode NodeGetInfo's limit (0: none)
 * @param nbdCommand how to run {@code torus nbd} with this plugin's cluster options: the
 *     program and its options, the subcommand {@code nbd}, then the cluster options; the node
 *     plugin appends {@code --listen 127.0.0.1:0 VOLUME} (and {@code --key-env VAR} for an
 *     encrypted volume); the controller runs other subcommands in its place (see
 *     {@link #torusCommand})
 * @param attach how the node plugin attaches volumes ({@link AttachMode}); a volume staged
 *     already keeps the way it was attached
 */
public record CsiConfig(String driverName, String vendorVersion, boolean controller,
    boolean node, String nodeId, Path stateDir, String clusterName, int minPeers,
    long defaultSize, long maxVolumesPerNode, List<String> nbdCommand, AttachMode attach) {

  /** The topology key every volume and node reports: the Torus cluster. */
  public static final String TOPOLOGY_KEY = "topology.torus.io/cluster";

  public CsiConfig {
    Objects.requireNonNull(driverName, "driverName");
    Objects.requireNonNull(vendorVersion, "vendorVersion");
    Objects.requireNonNull(nodeId, "nodeId");
    Objects.requireNonNull(stateDir, "stateDir");
    Objects.requireNonNull(clusterName, "clusterName");
    Objects.requireNonNull(attach, "attach");
    nbdCommand = List.copyOf(nbdCommand);
    if (!controller && !node) {
      throw new IllegalArgumentException("a plugin serves the controller, the node, or both");
    }
    if (defaultSize <= 0 || defaultSize % 512 != 0) {
      throw new IllegalArgumentException("default size must be a positive multiple of 512: "
          + defaultSize);
    }
  }

  /**
   * A configuration whose attach mode comes from {@code $TORUS_CSI_ATTACH} ({@code auto},
   * {@code kernel} or {@code fuse}; unset: auto).
   *
   * @throws IllegalArgumentException if that variable holds anything else
   */
  public CsiConfig(String driverName, String vendorVersion, boolean controller, boolean node,
      String nodeId, Path stateDir, String clusterName, int minPeers, long defaultSize,
      long maxVolumesPerNode, List<String> nbdCommand) {
    this(driverName, vendorVersion, controller, node, nodeId, stateDir, clusterName, minPeers,
        defaultSize, maxVolumesPerNode, nbdCommand, AttachMode.fromEnvironment());
  }

  /**
   * How to run {@code torus SUBCOMMAND...} with this plugin's cluster options: {@link
   * #nbdCommand} with its {@code nbd} replaced by {@code subcommand}; the caller appends the
   * subcommand's own options and arguments.
   *
   * @throws IllegalStateException if {@link #nbdCommand} names no {@code nbd} subcommand
   */
  List<String> torusCommand(String... subcommand) {
    int at = nbdCommand.indexOf("nbd");
    if (at < 0) {
      throw new IllegalStateException("nbdCommand names no nbd subcommand: " + nbdCommand);
    }
    List<String> out = new java.util.ArrayList<>(nbdCommand.subList(0, at));
    out.addAll(List.of(subcommand));
    out.addAll(nbdCommand.subList(at + 1, nbdCommand.size()));
    return out;
  }
}
