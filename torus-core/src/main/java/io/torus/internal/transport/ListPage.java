package io.torus.internal.transport;

import io.torus.spi.BlockRef;
import java.util.List;

/**
 * One page of a volume's refs held by a peer, sorted.
 *
 * @param refs the refs, ascending
 * @param more whether refs after the last one follow (ask again starting after it)
 */
public record ListPage(List<BlockRef> refs, boolean more) {
  public ListPage {
    refs = List.copyOf(refs);
  }
}
