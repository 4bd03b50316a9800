package io.torus.examples.csi;

import com.google.protobuf.BoolValue;
import csi.v1.Csi.GetPluginCapabilitiesRequest;
import csi.v1.Csi.GetPluginCapabilitiesResponse;
import csi.v1.Csi.GetPluginInfoRequest;
import csi.v1.Csi.GetPluginInfoResponse;
import csi.v1.Csi.PluginCapability;
import csi.v1.Csi.ProbeRequest;
import csi.v1.Csi.ProbeResponse;
import csi.v1.IdentityGrpc;
import io.grpc.stub.StreamObserver;

/**
 * The CSI Identity service: the driver's name and version, its capabilities (the controller
 * service when this plugin serves it; topology, as every volume is reachable from every node
 * of its Torus cluster and only there; offline expansion, as an attached volume sees a new
 * size when it is staged again), and Probe, healthy only while etcd answers and enough peers
 * are up.
 */
final class IdentityService extends IdentityGrpc.IdentityImplBase {
  private final CsiConfig config;
  private final ClusterAccess cluster;

  IdentityService(CsiConfig config, ClusterAccess cluster) {
    this.config = config;
    this.cluster = cluster;
  }

  @Override
  public void getPluginInfo(GetPluginInfoRequest request,
      StreamObserver<GetPluginInfoResponse> observer) {
    CsiErrors.answer("GetPluginInfo", observer, () -> GetPluginInfoResponse.newBuilder()
        .setName(config.driverName()).setVendorVersion(config.vendorVersion())
        .putManifest("cluster", config.clusterName()).build());
  }

  @Override
  public void getPluginCapabilities(GetPluginCapabilitiesRequest request,
      StreamObserver<GetPluginCapabilitiesResponse> observer) {
    CsiErrors.answer("GetPluginCapabilities", observer, () -> {
      GetPluginCapabilitiesResponse.Builder b = GetPluginCapabilitiesResponse.newBuilder();
      if (config.controller()) {
        b.addCapabilities(service(PluginCapability.Service.Type.CONTROLLER_SERVICE));
      }
      b.addCapabilities(service(PluginCapability.Service.Type.VOLUME_ACCESSIBILITY_CONSTRAINTS));
      b.addCapabilities(PluginCapability.newBuilder().setVolumeExpansion(
          PluginCapability.VolumeExpansion.newBuilder()
              .setType(PluginCapability.VolumeExpansion.Type.OFFLINE)));
      return b.build();
    });
  }

  private static PluginCapability service(PluginCapability.Service.Type t) {
    return PluginCapability.newBuilder()
        .setService(PluginCapability.Service.newBuilder().setType(t)).build();
  }

  @Override
  public void probe(ProbeRequest request, StreamObserver<ProbeResponse> observer) {
    CsiErrors.answer("Probe", observer, () -> {
      cluster.checkHealthy();
      return ProbeResponse.newBuilder().setReady(BoolValue.of(true)).build();
    });
  }
}
