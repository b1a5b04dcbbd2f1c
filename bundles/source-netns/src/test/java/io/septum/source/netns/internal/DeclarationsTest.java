package io.septum.source.netns.internal;

import io.septum.api.NamedPort;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class DeclarationsTest {
    static String error(String yaml) {
        return assertThrows(Declarations.InvalidException.class, () -> Declarations.parse("etc/endpoints/x.yaml", yaml))
                .getMessage();
    }

    @Test
    void parsesTheDocumentedFormat() throws Exception {
        var ds = Declarations.parse("f.yaml", """
                endpoints:
                  - name: deathstar
                    namespace: default
                    netns: deathstar-ns
                    interface: sept-ds-h
                    labels: {org: empire, class: deathstar, tier: 1}
                  - name: xwing
                """);
        assertEquals(2, ds.size());
        var d = ds.get(0);
        assertEquals("default/deathstar", d.sourceId());
        assertEquals("deathstar-ns", d.netns());
        assertEquals("sept-ds-h", d.interfaceName());
        assertEquals(Map.of("org", "empire", "class", "deathstar", "tier", "1"), d.labels());
        assertEquals("xwing", ds.get(1).netns(), "netns defaults to the name");
        assertEquals(List.of(), Declarations.parse("f.yaml", ""));
    }

    @Test
    void namedPortsAreDeclaredWithTheEndpoint() throws Exception {
        var ds = Declarations.parse("f.yaml", """
                endpoints:
                  - name: web
                    ports: [{name: http, port: 8080}, {name: dns, port: 53, protocol: udp}, {name: dns, port: 53}]
                """);
        assertEquals(List.of(new NamedPort("http", 8080, "TCP"), new NamedPort("dns", 53, "UDP"),
                new NamedPort("dns", 53, "TCP")), ds.get(0).ports());
        String[][] refused = {
                {"[{name: Http, port: 80}]", "endpoints[0].ports[0]: invalid port name \"Http\""},
                {"[{name: http, port: 70000}]", "endpoints[0].ports[0]: named port \"http\": port 70000 is not 1-65535"},
                {"[{name: http, port: 80}, {name: http, port: 81}]", "endpoints[0].ports[1].name: \"http\" is already a TCP port"},
                {"[{port: 80}]", "endpoints[0].ports[0].name: is required"},
                {"[{name: x, port: 80, proto: tcp}]", "endpoints[0].ports[0]: unknown field \"proto\""},
                {"{http: 80}", "endpoints[0].ports: must be a list"}};
        for (String[] c : refused) {
            String e = error("endpoints:\n  - name: a\n    ports: " + c[0] + "\n");
            assertTrue(e.startsWith("etc/endpoints/x.yaml: " + c[1]), e);
        }
    }

    @Test
    void errorsNameFileEntryAndField() {
        String e = error("endpoints:\n  - name: a\n  - name: b\n    colour: red\n");
        assertTrue(e.startsWith("etc/endpoints/x.yaml: endpoints[1]: unknown field \"colour\""), e);
        String[][] refused = { // the YAML, then what the message names
                {"endpoints:\n  - netns: a\n", "endpoints[0].name: is required"},
                {"endpoints:\n  - name: a\n    namespace: Kube_System\n", "endpoints[0].namespace", "DNS label"},
                {"endpoints:\n  - name: a\n    netns: -n\n", "endpoints[0].netns"},
                {"endpoints:\n  - name: a\n    netns: /var/run/netns/../../etc\n", "not normalized"},
                {"endpoints:\n  - name: a\n    interface: averyveryverylongname\n", "endpoints[0].interface"},
                {"endpoints:\n  - name: a\n  - name: a\n", "already declared at endpoints[0]"},
                {"endpoints:\n  - name: a\n    labels: [x]\n", "endpoints[0].labels"},
                {"endpoint:\n  - name: a\n", "unknown top-level field \"endpoint\""}};
        for (String[] c : refused) {
            e = error(c[0]);
            for (int i = 1; i < c.length; i++) assertTrue(e.contains(c[i]), e);
        }
        e = error("endpoints: [\n");
        assertTrue(e.startsWith("etc/endpoints/x.yaml:") && e.contains("not valid YAML"), e);
    }
}
