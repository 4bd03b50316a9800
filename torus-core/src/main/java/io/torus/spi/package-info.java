/**
 * Extension points of a node: block stores ({@link io.torus.spi.BlockStore}, found through
 * {@link io.torus.spi.BlockStoreProvider} by type name) and the metadata service
 * ({@link io.torus.spi.MetadataService}), with the values they exchange: block refs and
 * kinds, heads, locks, snapshots, clone origins and live roots.
 *
 * <p>A store or metadata service written against these interfaces is held to the same
 * contracts as the built-in ones (the {@code BlockStoreContract} and {@code MetadataContract}
 * suites in the test jar of {@code torus-core}).
 */
package io.torus.spi;
