package io.torus.internal.meta.etcd;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.op.Op;
import io.torus.internal.meta.PagedListingContract;
import io.torus.internal.meta.PeerInfo;
import io.torus.internal.meta.PeerRegistry;
import io.torus.spi.MetadataService;
import io.torus.VolumeSpec;
import io.torus.testing.etcd.EtcdCluster;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The paged-listing contract on a real etcd (each test under a prefix of its own), and prefix
 * reads in pages ({@link EtcdKv#PAGE} keys) at one revision: every key once, in key order,
 * none of a neighbouring prefix.
 */
class EtcdPagedListingIT extends PagedListingContract {
  @RegisterExtension
  static final EtcdCluster ETCD = EtcdCluster.builder().members(1).build();

  private static final AtomicInteger TEST = new AtomicInteger();

  private EtcdMetadataService service;

  @Override
  protected MetadataService newService() {
    service = EtcdMetadataService.builder().endpoints(ETCD.endpoints())
        .rootPrefix("/listing/t" + TEST.incrementAndGet()).leaseTtl(Duration.ofSeconds(5))
        .requestTimeout(Duration.ofSeconds(5)).build();
    return service;
  }

  @Override
  protected PeerRegistry peers() {
    return service.peers();
  }

  /** Writes the peers' member records (no alive record: down), 64 to a transaction. */
  @Override
  protected void addDownPeers(List<String> ids) {
    EtcdKv kv = service.kv();
    List<CompletableFuture<?>> sent = new ArrayList<>();
    for (int i = 0; i < ids.size(); i += 64) {
      Op[] puts = ids.subList(i, Math.min(ids.size(), i + 64)).stream()
          .map(id -> EtcdKv.put(kv.layout().memberKey(id), EtcdLayout.encodePeer(
              new PeerInfo(id, "127.0.0.1:7000", 100, 0, 1, Instant.EPOCH), null)))
          .toArray(Op[]::new);
      sent.add(kv.txn().Then(puts).commit());
    }
    CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new)).join();
  }

  @Test
  void aPrefixOfMoreKeysThanAPageIsReadWholeAtOneRevision() {
    try (EtcdMetadataService meta = EtcdMetadataService.builder().endpoints(ETCD.endpoints())
        .rootPrefix("/paged").build()) {
      EtcdKv kv = meta.kv();
      int n = 2 * EtcdKv.PAGE + 37;
      List<CompletableFuture<?>> puts = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        puts.add(kv.client().getKVClient().put(EtcdKv.bytes(String.format("/p/a/%05d", i)),
            EtcdKv.bytes("v" + i)));
      }
      puts.add(kv.client().getKVClient().put(EtcdKv.bytes("/p/b/0"), EtcdKv.bytes("x")));
      puts.add(kv.client().getKVClient().put(EtcdKv.bytes("/p/a"), EtcdKv.bytes("x")));
      CompletableFuture.allOf(puts.toArray(CompletableFuture[]::new)).join();

      EtcdKv.Listing all = kv.getPrefix("/p/a/", "listing");
      assertThat(all.kvs()).hasSize(n);
      for (int i = 0; i < n; i++) {
        KeyValue e = all.kvs().get(i);
        assertThat(EtcdKv.key(e)).isEqualTo(String.format("/p/a/%05d", i));
        assertThat(EtcdKv.str(e)).isEqualTo("v" + i);
      }
      // the listing's revision is that of its first page: a later write has a higher one
      kv.put("/p/a/99999", "late", "a later write");
      EtcdKv.Listing again = kv.getPrefix("/p/a/", "again");
      assertThat(again.kvs()).hasSize(n + 1);
      assertThat(again.revision()).isGreaterThan(all.revision());

      // the volume listing goes through the same reads
      for (int i = 0; i < 3; i++) {
        meta.createVolume(VolumeSpec.builder("vol" + i, 1 << 20).build());
      }
      assertThat(meta.volumes()).extracting(v -> v.name())
          .containsExactly("vol0", "vol1", "vol2");
    }
  }
}
