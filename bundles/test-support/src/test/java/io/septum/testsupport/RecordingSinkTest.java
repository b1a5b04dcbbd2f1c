package io.septum.testsupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.EndpointSpec;
import io.septum.api.SourceHealth;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RecordingSinkTest {
    private static EndpointSpec spec(String id, String name) {
        return new EndpointSpec(id, name, "default", Map.of("app", name), "veth-" + name, null, List.of(), null, Map.of());
    }

    @Test
    void keepsWhatTheManagerWouldKnowAndEveryCallInOrder() {
        RecordingSink sink = RecordingSink.withoutNamespaces("test");
        assertTrue(sink.lastResync().isEmpty());
        assertNull(sink.lastHealth());
        sink.upsert(spec("a", "web"));
        sink.upsert(spec("b", "db"));
        sink.upsert(spec("a", "web2"));
        sink.remove("b");
        sink.upsert(spec("c", "cache"));
        sink.resync(List.of("a"));
        sink.health(new SourceHealth("test", true, 1, null));

        assertEquals(Map.of("a", spec("a", "web2")), sink.specs(), "a resync trims what it does not list");
        assertEquals(List.of("upsert a", "upsert b", "upsert a", "remove b", "upsert c"), sink.calls());
        assertEquals(2, sink.upserted("a"));
        assertEquals(spec("b", "db"), sink.lastUpsert("b"), "the last upsert stays known after the removal");
        assertNull(sink.lastUpsert("x"));
        assertEquals(List.of("b"), sink.removes());
        assertEquals(List.of(List.of("a")), sink.resyncs());
        assertEquals(List.of("a"), sink.lastResync());
        assertTrue(sink.lastHealth().connected());
    }

    @Test
    void namespaceLabelsAreRecordedOnlyWhereTheSourceHasNamespaces() {
        AssertionError e = assertThrows(AssertionError.class,
                () -> RecordingSink.withoutNamespaces("docker").namespaceLabels("prod", Map.of("team", "a")));
        assertEquals("the docker source has no namespace objects, yet set labels of prod", e.getMessage());
        RecordingSink k8s = RecordingSink.withNamespaces();
        k8s.namespaceLabels("prod", Map.of("team", "a"));
        assertEquals(Map.of("prod", Map.of("team", "a")), k8s.namespaceLabels());
    }
}
