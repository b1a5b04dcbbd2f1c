package io.septum.kvstore.etcd.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/** What a stored cluster policy's author becomes in each node's history (ClusterPoliciesTest runs it on two nodes). */
class PolicySyncAuthorTest {
    @Test
    void storedAuthorsAreOneLineOfAtMost200CodePoints() {
        // C0 controls, NEL, line separator, bidi override: none reaches a terminal that shows the history
        assertEquals("a b c d e", PolicySync.storedAuthor("a\u2028b\u0085c\u202ed\u001be"));
        assertNull(PolicySync.storedAuthor(" \t\n "));
        assertNull(PolicySync.storedAuthor(null));
        String emoji = "\uD83D\uDE00";
        String stored = PolicySync.storedAuthor(emoji.repeat(300));
        assertEquals(emoji.repeat(200), stored, "200 code points, no surrogate pair split");
    }

    @Test
    void theHistoryNamesWhoStoredItAndThatItCameThroughTheStore() throws Exception {
        ObjectMapper json = new ObjectMapper();
        assertEquals("uid 0 (root) via cluster (etcd)",
                PolicySync.repositoryAuthor(json.readTree("{\"author\":\"uid 0 (root)\"}")));
        assertEquals("cluster (etcd)", PolicySync.repositoryAuthor(json.readTree("{\"document\":\"x\"}")));
        assertEquals("cluster (etcd)", PolicySync.repositoryAuthor(json.readTree("{\"author\":\"\\n\"}")));
    }
}
