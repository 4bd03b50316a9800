/**
 * The metadata service and coordination of a cluster, in etcd: the only package that
 * imports jetcd. {@link io.torus.internal.meta.etcd.EtcdMetadataService} (built with
 * {@link io.torus.internal.meta.etcd.EtcdMetadataService#builder()} from
 * {@link io.torus.internal.meta.etcd.EtcdOptions}) is the way in; everything else is
 * package-private.
 *
 * <p>Every class talks to etcd through one {@code EtcdKv} per service (the client, the
 * request deadline, the mapping of etcd errors to {@link io.torus.TorusException}) and builds
 * every key with {@code EtcdLayout} (the formats in {@code src-docs/formats.md}). The service
 * delegates volumes, heads and locks to {@code EtcdVolumes}, snapshots and clones to
 * {@code EtcdSnapshots}; the lease is {@code EtcdSession}, watches {@code EtcdWatcher}.
 */
package io.torus.internal.meta.etcd;
