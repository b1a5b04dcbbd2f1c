package io.septum.itests.osgi;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.composite;
import static org.ops4j.pax.exam.CoreOptions.mavenBundle;

import io.septum.api.Endpoint;
import io.septum.api.EndpointManager;
import io.septum.api.EndpointState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import javax.inject.Inject;
import org.junit.Assume;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

/**
 * The source-cgroup bundle in the assembled container: it resolves against the boot set alone, its source registers
 * with the endpoint manager, a rule written to etc/ is applied live, and a matching cgroup v2 directory becomes a
 * ready endpoint (enforced by the real datapath) that goes when the directory does.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class CgroupSourceBundleIT extends SeptumTestSupport {
    @Inject
    EndpointManager endpoints;

    @Override
    @Configuration
    public Option[] configuration() throws java.io.IOException {
        Option[] base = super.configuration();
        Option[] all = java.util.Arrays.copyOf(base, base.length + 1);
        all[base.length] = composite(mavenBundle("io.septum", "septum-source-cgroup").versionAsInProject());
        return all;
    }

    @Test
    public void ruleInEtcTurnsACgroupIntoAReadyEndpoint() throws Exception {
        Path mount = cgroup2Mount();
        Assume.assumeTrue("no cgroup v2 mount", mount != null);
        await("the cgroup source registered", () -> endpoints.sources().stream().anyMatch(s -> s.source().equals("cgroup")));
        String tag = "sept-t" + UUID.randomUUID().toString().substring(0, 6);
        Path parent = mount.resolve(tag);
        Path child = parent.resolve("worker");
        Path cfg = Path.of(bundleContext.getProperty("septum.etc.dir"), "io.septum.source.cgroup.cfg");
        Files.createDirectories(child);
        try {
            Files.writeString(cfg, "rule.itest.path=" + tag + "/*\nrule.itest.labels=app=itest\nrule.itest.namespace=ops\n");
            await("endpoint for " + child + " ready", () -> find(tag + "/worker").map(e -> e.state() == EndpointState.READY).orElse(false));
            Endpoint e = find(tag + "/worker").orElseThrow();
            assertEquals("worker", e.name());
            assertEquals("ops", e.namespace());
            assertEquals("cgroup", e.source());
            assertEquals(List.of("cgroup:app=itest", "k8s:io.kubernetes.pod.namespace=ops"), e.labels());
            assertTrue(e.externalIds().toString(), e.externalIds().containsKey("cgroup-id"));
            Files.delete(child);
            await("endpoint gone with its cgroup", () -> find(tag + "/worker").isEmpty());
        } finally {
            Files.deleteIfExists(cfg);
            Files.deleteIfExists(child);
            Files.deleteIfExists(parent);
        }
    }

    private Optional<Endpoint> find(String cgroupPath) {
        return endpoints.list().stream().filter(e -> cgroupPath.equals(e.externalIds().get("cgroup-path"))).findFirst();
    }
}
