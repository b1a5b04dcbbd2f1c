package io.septum.source.cgroup.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.EndpointSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RulesTest {
    @TempDir
    Path tree;

    @Test
    void rulesParseWithDefaults() {
        Rules.Settings s = Rules.parse(Map.of("namespace", "ops",
                "rule.web.path", "sept/*", "rule.web.labels", "app=web, tier=front",
                "rule.db.path", "system.slice/postgresql.service", "rule.db.namespace", "data",
                "rule.db.addresses", "10.198.0.10"));
        assertEquals(List.of("db", "web"), s.rules().stream().map(Rules.Rule::name).toList());
        Rules.Rule web = s.rules().get(1);
        assertEquals(Map.of("app", "web", "tier", "front"), web.labels());
        assertEquals("ops", web.namespace());
        assertEquals("data", s.rules().get(0).namespace());
        assertEquals(List.of("10.198.0.10"), s.rules().get(0).addresses());
        assertEquals(10, s.scanIntervalSeconds());
        assertEquals("default", Rules.parse(Map.of("rule.a.path", "x")).rules().get(0).namespace());
    }

    @Test
    void rulesCannotSetReservedNamespaceOrOtherSourcesLabels() {
        for (String labels : List.of("reserved:host", "k8s:app=web", "netns:role=admin", "container:app=x",
                "io.kubernetes.pod.namespace=kube-system", "io.cilium.k8s.namespace.labels.team=red")) {
            var e = assertThrows(IllegalArgumentException.class,
                    () -> Rules.parse(Map.of("rule.x.path", "sept/*", "rule.x.labels", labels)), labels);
            assertTrue(e.getMessage().startsWith("config io.septum.source.cgroup: rule.x.labels: key"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> Rules.parse(Map.of("rule.x.path", "/sys/fs/cgroup/x")));
        assertThrows(IllegalArgumentException.class, () -> Rules.parse(Map.of("rule.x.path", "a/../b")));
        assertThrows(IllegalArgumentException.class, () -> Rules.parse(Map.of("rule.x.labels", "a=b")));
        assertThrows(IllegalArgumentException.class, () -> Rules.parse(Map.of("rule.x.path", "a", "rule.x.namespace", "Bad_NS")));
        assertThrows(IllegalArgumentException.class, () -> Rules.parse(Map.of("rule.x.path", "a", "rule.x.addresses", "10.1.2")));
        var e = assertThrows(IllegalArgumentException.class, () -> Rules.parse(Map.of("rule.x.path", "a", "rule.x.lables", "a=b")));
        assertTrue(e.getMessage().contains("rule.x.lables: unknown field"), e.getMessage());
    }

    @Test
    void scannerSelectsByPathAndGlobAndWatchesTheParents() throws Exception {
        Files.createDirectories(tree.resolve("system.slice/nginx.service"));
        Files.createDirectories(tree.resolve("system.slice/cron.service"));
        Files.createDirectories(tree.resolve("system.slice/user@1000.service"));
        Files.createDirectories(tree.resolve("system.slice/x.scope"));
        Files.createDirectories(tree.resolve("sept/web"));
        Files.writeString(tree.resolve("sept/cgroup.procs"), "");
        Rules.Settings s = Rules.parse(Map.of("rule.a.path", "system.slice/*.service", "rule.a.labels", "kind=svc",
                "rule.b.path", "sept/web", "rule.c.path", "system.slice/nginx.service", "rule.d.path", "later/*"));
        Scanner.Result r = Scanner.scan(tree, s.rules());
        assertEquals(List.of("sept/web", "system.slice/cron.service", "system.slice/nginx.service",
                "system.slice/user@1000.service"), List.copyOf(r.matches().keySet()));
        assertEquals("a", r.matches().get("system.slice/nginx.service").rule().name(), "the first rule by name wins");
        assertEquals(1, r.overlaps().size());
        assertTrue(r.watch().containsAll(List.of(tree.resolve("system.slice"), tree.resolve("sept"), tree)), r.watch().toString());

        EndpointSpec spec = CgroupSource.spec(r.matches().get("system.slice/user@1000.service"));
        assertEquals("user-1000.service", spec.name());
        assertEquals("system.slice/user@1000.service", spec.sourceId());
        assertEquals(tree.resolve("system.slice/user@1000.service").toString(), spec.cgroupPath());
        assertNull(spec.interfaceName());
        assertEquals(Map.of("kind", "svc"), spec.labels());
        assertEquals("default", spec.namespace());
        assertEquals(Long.toString(Scanner.inode(tree.resolve("system.slice/user@1000.service"))),
                spec.externalIds().get("cgroup-id"));
    }
}
