package io.septum.kvstore.etcd.internal;

import io.septum.kvstore.etcd.internal.EtcdClient.Compare;
import io.septum.kvstore.etcd.internal.EtcdClient.KeyValue;
import io.septum.kvstore.etcd.internal.EtcdClient.Op;

import java.io.IOException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Garbage collection of master keys, in two rounds as Cilium's {@code RunGC}: a master {@code id/<n>} that no node
 * references is marked with its mod revision in one round, and deleted in the next only if it is still unreferenced
 * and its mod revision is unchanged. The delete is a txn comparing that mod revision and checking that the label
 * set's {@code value/} range is empty, so a node that starts to use the number between the rounds (or between the
 * read and the delete) wins. Any number of agents may run it: the txn makes concurrent rounds safe.
 */
public final class IdentityGc {
    /** What one round saw and did. */
    public record Round(int masters, int referenced, int marked, int deleted) {
    }

    private final EtcdClient etcd;
    private final String prefix;
    private Map<String, Long> marked = new HashMap<>();

    public IdentityGc(EtcdClient etcd, String prefix) {
        this.etcd = etcd;
        this.prefix = prefix.endsWith("/") ? prefix.substring(0, prefix.length() - 1) : prefix;
    }

    public synchronized Round run() throws IOException {
        List<KeyValue> masters = etcd.getPrefix(prefix + "/id/").kvs();
        Set<String> referencedIds = new HashSet<>();
        for (KeyValue kv : etcd.getPrefix(prefix + "/value/").kvs()) referencedIds.add(kv.value().trim());
        Map<String, Long> next = new HashMap<>();
        int referenced = 0;
        int deleted = 0;
        for (KeyValue m : masters) {
            String id = m.key().substring(prefix.length() + "/id/".length());
            String valuePrefix = prefix + "/value/" + KvstoreIdentityAllocator.segment(m.value()) + "/";
            if (referencedIds.contains(id)) {
                referenced++;
                continue;
            }
            Long seen = marked.get(m.key());
            if (seen != null && seen == m.modRevision()) {
                boolean ok = etcd.txn(List.of(Compare.modRevision(m.key(), seen), Compare.prefixAbsent(valuePrefix)),
                        List.of(new Op.Delete(m.key(), null)), List.of()).succeeded();
                if (ok) deleted++;
            } else {
                next.put(m.key(), m.modRevision());
            }
        }
        marked = next;
        return new Round(masters.size(), referenced, next.size(), deleted);
    }
}
