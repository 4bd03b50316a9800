/**
 * A Network Block Device server for Torus volumes: build one with
 * {@link io.torus.nbd.NbdServer#builder()} and add {@link io.torus.nbd.NbdExport}s.
 * Everything under {@code io.torus.nbd.internal} is not API.
 */
package io.torus.nbd;
