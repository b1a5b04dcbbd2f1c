package io.septum.example.staticsource.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.EndpointSpec;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The file format: what a good file gives, and that a bad line names the file, the line and the reason. */
class StaticSourceTest {
    @Test
    void linesBecomeSpecsWithTheConfiguredNamespace() {
        List<EndpointSpec> specs = StaticSource.parse("f.txt", String.join("\n",
                "# a comment",
                "web  veth-web  10.199.3.1  app=web tier=front   # trailing comment",
                "",
                "db\tveth-db\t10.199.3.2",
                ""), "prod");
        assertEquals(2, specs.size());
        EndpointSpec web = specs.get(0);
        assertEquals("web", web.sourceId());
        assertEquals("prod", web.namespace());
        assertEquals("veth-web", web.interfaceName());
        assertEquals(List.of("10.199.3.1"), web.addresses());
        assertEquals(Map.of("app", "web", "tier", "front"), web.labels());
        assertEquals(Map.of(), specs.get(1).labels());
    }

    @Test
    void aBadLineIsRefusedWithItsPlace() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> StaticSource.parse("f.txt",
                "web veth-web 10.199.3.1\nweb veth-x 10.199.3.3\n", "default"));
        assertTrue(e.getMessage().startsWith("f.txt:2: ") && e.getMessage().contains("twice"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> StaticSource.parse("f.txt", "web veth-web\n", "default"));
        assertTrue(e.getMessage().startsWith("f.txt:1: expected"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> StaticSource.parse("f.txt", "web v 10.1.1.1 =x\n", "default"));
        assertTrue(e.getMessage().contains("no key"), e.getMessage());
    }
}
