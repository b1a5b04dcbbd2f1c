package io.septum.api.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The one reading of flow query parameters, as /v1/flows and the web UI use it. */
class FlowQueryTest {
    @Test
    void readsFiltersAndLast() {
        FlowQuery q = FlowQuery.parse(Map.of("verdict", List.of("DROPPED"), "from-label", List.of("a=b,c=d", "e=f"),
                "port", List.of("80"), "last", List.of("3")), 0, Set.of());
        assertEquals(3, q.last());
        assertEquals(FlowFilter.builder().verdict("DROPPED").fromLabel(List.of("a=b", "c=d", "e=f")).port(80).build(),
                q.filter());
    }

    @Test
    void emptyValuesAreUnsetAndLastDefaultsToTheCallers() {
        FlowQuery q = FlowQuery.parse(Map.of("verdict", List.of(""), "last", List.of(" ")), 500, Set.of());
        assertEquals(500, q.last());
        assertEquals(FlowFilter.builder().build(), q.filter());
    }

    @Test
    void unknownParametersAndBadValuesAreNamed() {
        String m = assertThrows(IllegalArgumentException.class,
                () -> FlowQuery.parse(Map.of("colour", List.of("x")), 0, Set.of("follow"))).getMessage();
        assertTrue(m.startsWith("unknown flow filter \"colour\"") && m.contains("follow"), m);
        assertEquals(0, FlowQuery.parse(Map.of("follow", List.of("true")), 0, Set.of("follow")).last());
        assertEquals("port=x is not a number", assertThrows(IllegalArgumentException.class,
                () -> FlowQuery.parse(Map.of("port", List.of("x")), 0, Set.of())).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> FlowQuery.parse(Map.of("last", List.of("-1")), 0, Set.of())).getMessage().contains("not -1"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> FlowQuery.parse(Map.of("verdict", List.of("A", "B")), 0, Set.of())).getMessage().contains("given 2 times"));
    }
}
