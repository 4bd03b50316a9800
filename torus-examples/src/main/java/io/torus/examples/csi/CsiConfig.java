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
 * @param nbdCommand how to run {@code torus nbd} with this plugin's cluster options; the node
 *     plugin appends {@code --listen 127.0.0.1:0 VOLUME}
 */
public record CsiConfig(String driverName, String vendorVersion, boolean controller,
    boolean node, String nodeId, Path stateDir, String clusterName, int minPeers,
    long defaultSize, long maxVolumesPerNode, List<String> nbdCommand) {

  /** The topology key every volume and node reports: the Torus cluster. */
  public static final String TOPOLOGY_KEY = "topology.torus.io/cluster";

  public CsiConfig {
    Objects.requireNonNull(driverName, "driverName");
    Objects.requireNonNull(vendorVersion, "vendorVersion");
    Objects.requireNonNull(nodeId, "nodeId");
    Objects.requireNonNull(stateDir, "stateDir");
    Objects.requireNonNull(clusterName, "clusterName");
    nbdCommand = List.copyOf(nbdCommand);
    if (!controller && !node) {
      throw new IllegalArgumentException("a plugin serves the controller, the node, or both");
    }
    if (defaultSize <= 0 || defaultSize % 512 != 0) {
      throw new IllegalArgumentException("default size must be a positive multiple of 512: "
          + defaultSize);
    }
  }
}
