package io.septum.itests.e2e;

import static io.septum.itests.e2e.E2eSupport.TestDocker.docker;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import io.septum.testsupport.TestFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Hot deployment of the docker source into a running agent, against a real Docker engine (scripts/test-dockerd.sh):
 * containers become {@code ready} endpoints with {@code container:} labels, a container cannot label itself into
 * another namespace or a reserved identity, a policy is enforced between containers with real connections, and
 * replacing the jar with a rebuilt one (a newer Bundle-Version) keeps them enforced, the engine stopped and started
 * again under the running agent (status says disconnected meanwhile; the containers, restarted by their restart
 * policy in new namespaces, are ready and enforced again), removing the jar leaves its endpoints
 * {@code disconnected} and still enforced for the grace period ({@code disconnectGraceSeconds}, 20 s here), after
 * which their tc programs, endpoint-map, policy-map and ipcache entries are gone while the network-namespace
 * endpoints' entries are exactly as before; those endpoints, under their own policy, see no wrong probe outcome
 * (no drop of an allowed connection, no pass of a denied one) while the source comes and goes.
 *
 * <p>The agent runs from a private home (links to the distribution's lib/ and bundle/, its own etc/ and deploy/), so
 * the jar dropped into deploy/ reaches no other test's agent.
 */
class DockerSourceIT {
    private static final String SOCK = E2eSupport.TestDocker.HOST;
    private static final String IMAGE = "septum-test/busybox";
    private static final String POLICY = E2eSupport.allowIngress("web-from-client", "app: sept-web", "app: sept-client");

    @Test
    void hotDeployedDockerSourceEnforcesAndCannotBeSpoofed() throws Exception {
        Path dist = E2eSupport.distribution();
        Path jar = E2eSupport.optionalJar(dist, "septum-source-docker.jar");
        Path script = E2eSupport.repoFile("scripts/test-dockerd.sh");
        E2eSupport.TestDocker.assumeInstalled();
        // The engine is shared with the source-docker unit tests, which may run in another build at the same time.
        try (FileChannel lockChannel = FileChannel.open(Path.of("/run/sept-test-docker.lock"),
                StandardOpenOption.CREATE, StandardOpenOption.WRITE); FileLock ignored = lockChannel.lock()) {
            E2eSupport.Run started = E2eSupport.sh(Duration.ofSeconds(120), script.toString(), "start");
            assertEquals(0, started.exit(), started.toString());
            withEngine(dist, jar, script);
        }
    }

    private static void withEngine(Path dist, Path jar, Path script) throws Exception {
        Path home = Files.createTempDirectory("septum-e2e-docker-home");
        String tag = E2eSupport.rand();
        try {
            E2eSupport.privateHome(home, dist);
            Files.writeString(home.resolve("etc/io.septum.source.docker.cfg"), "dockerHost=" + SOCK + "\n");
            // Long enough for a redeploy under load to come back within it, short enough to wait out after undeploy.
            Path endpointsCfg = home.resolve("etc/io.septum.endpoints.cfg");
            String cfg = Files.exists(endpointsCfg) ? Files.readString(endpointsCfg) : "";
            Files.writeString(endpointsCfg, cfg.replaceAll("(?m)^disconnectGraceSeconds=.*$", "")
                    + "\ndisconnectGraceSeconds=" + GRACE.toSeconds() + "\n");

            String web = docker("run", "-d", "--restart", "always", "--name", "sept-t-web-" + tag, "-l", "app=sept-web", IMAGE,
                    "sh", "-c", "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 80 -h /www");
            String client = docker("run", "-d", "--restart", "always", "--name", "sept-t-client-" + tag, "-l", "app=sept-client", IMAGE,
                    "sleep", "100000");
            String other = docker("run", "-d", "--restart", "always", "--name", "sept-t-other-" + tag, "-l", "app=sept-other", IMAGE,
                    "sleep", "100000");
            // Labels that try to pick the namespace, a reserved identity and another source's label.
            String spoof = docker("run", "-d", "--restart", "always", "--name", "sept-t-spoof-" + tag, "-l", "app=sept-client",
                    "-l", "io.kubernetes.pod.namespace=kube-system", "-l", "reserved:host=",
                    "-l", "reserved:world=", "-l", "k8s:app=sept-web", "-l", "netns:role=admin", IMAGE,
                    "sleep", "100000");
            String webIp = docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", web);

            try (E2eSupport.Agent agent = E2eSupport.Agent.start(home.resolve("bin/septum")); E2eNet net = new E2eNet()) {
                try {
                    // Network-namespace endpoints under a policy, probed throughout deploy, redeploy and undeploy.
                    E2eNet.Trio ns = E2eNet.Trio.registered(agent, net, "ns", 80);
                    E2eNet.Node server = ns.server();
                    E2eNet.Node nsClient = ns.client();
                    E2eNet.Node intruder = ns.intruder();
                    agent.importPolicy(home.resolve("ns-policy.yaml"), ns.policy("ns-server-from-ns-client"));
                    assertTrue(E2eSupport.await(Duration.ofSeconds(30), () -> ns.enforced(net, ALLOW_TIMEOUT, DENY_TIMEOUT)),
                            "netns policy enforced before the deploy");
                    Prober prober = new Prober("e2e-docker-prober", "deploy")
                            .allows("ns-client -> ns-server:80", () -> net.tcp(nsClient, server, 80, ALLOW_TIMEOUT))
                            .denies("ns-intruder -> ns-server:80", () -> net.tcp(intruder, server, 80, DENY_TIMEOUT))
                            .start();
                    try {
                        Files.copy(jar, home.resolve("deploy/septum-source-docker.jar"));
                        List<String> ids = List.of(web, client, other, spoof);
                        boolean ready = E2eSupport.await(Duration.ofSeconds(60), () -> ids.stream()
                                .allMatch(id -> "ready".equals(endpoint(agent, id).path("state").asText())));
                        if (!ready) {
                            fail("docker endpoints not ready within 60 s: " + agent.cli("endpoint", "list", "-o", "json").out());
                        }

                        JsonNode status = agent.get("/v1/status");
                        assertTrue(status.toString().contains("\"source-docker\""), "status shows source-docker: " + status);
                        assertTrue(containerSourceConnected(agent), "status shows the container source connected: " + status);

                        JsonNode w = endpoint(agent, web);
                        assertEquals("default", w.path("namespace").asText());
                        assertTrue(E2eSupport.labels(w).contains("container:app=sept-web"), w.toString());
                        assertEquals("sept-t-web-" + tag, w.path("externalIds").path("container-name").asText(), w.toString());
                        assertEquals(web, w.path("externalIds").path("container-id").asText(), w.toString());
                        assertEquals(webIp, w.path("addresses").path(0).asText(), w.toString());

                        JsonNode s = endpoint(agent, spoof);
                        List<String> sl = E2eSupport.labels(s);
                        assertEquals("default", s.path("namespace").asText(), "the spoofing container's namespace: " + s);
                        assertTrue(sl.contains("k8s:io.kubernetes.pod.namespace=default"), s.toString());
                        assertFalse(sl.stream().anyMatch(l -> l.startsWith("reserved:")), "no reserved label: " + s);
                        assertFalse(sl.contains("k8s:app=sept-web"), "no k8s: label from a container: " + s);
                        assertFalse(sl.stream().anyMatch(l -> l.startsWith("netns:")), "no netns: label: " + s);
                        assertFalse(sl.contains("k8s:io.kubernetes.pod.namespace=kube-system"), s.toString());
                        assertTrue(sl.stream().filter(l -> !l.startsWith("k8s:io.kubernetes.pod.namespace"))
                                .allMatch(l -> l.startsWith("container:")), "only container: labels besides the namespace: " + s);

                        assertTrue(E2eSupport.await(Duration.ofSeconds(20), () -> connects(client, webIp)
                                && connects(other, webIp)), "no policy yet: every container reaches web:80");
                        Path policy = home.resolve("web-from-client.yaml");
                        agent.importPolicy(policy, POLICY);
                        assertTrue(E2eSupport.await(Duration.ofSeconds(30), () -> !connects(other, webIp)),
                                "the policy denies other -> web:80");
                        assertTrue(connects(client, webIp), "the policy allows client -> web:80");
                        // Its own container: label app=sept-client, so the spoofer is a client, nothing more.
                        assertTrue(connects(spoof, webIp), "spoof carries app=sept-client: allowed");
                        assertTrue(connects(web, docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", client), 1),
                                "egress is not restricted: web reaches client (refused, not dropped)");

                        // Redeploy a rebuilt jar (same bundle, a newer Bundle-Version, new file): the containers stay
                        // enforced throughout.
                        prober.phase("redeploy");
                        Path rebuilt = home.resolve("septum-source-docker.jar.tmp");
                        String version = rebuild(jar, rebuilt, tag);
                        Files.move(rebuilt, home.resolve("deploy/septum-source-docker.jar"), StandardCopyOption.REPLACE_EXISTING,
                                StandardCopyOption.ATOMIC_MOVE);
                        Files.setLastModifiedTime(home.resolve("deploy/septum-source-docker.jar"),
                                java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 1000));
                        List<String> containerWrong = new ArrayList<>();
                        long end = System.nanoTime() + Duration.ofSeconds(8).toNanos();
                        while (System.nanoTime() < end) {
                            if (!connects(client, webIp)) containerWrong.add("redeploy: client -> web:80 dropped");
                            if (connects(other, webIp)) containerWrong.add("redeploy: other -> web:80 allowed");
                        }
                        assertTrue(containerWrong.isEmpty(),
                                "container probes during the redeploy:\n" + String.join("\n", containerWrong));
                        assertTrue(E2eSupport.await(Duration.ofSeconds(30), () -> ids.stream()
                                .allMatch(id -> "ready".equals(endpoint(agent, id).path("state").asText()))),
                                "docker endpoints ready after the redeploy");
                        String log = Files.readString(agent.log);
                        assertTrue(log.contains("Updating bundle io.septum.source.docker"), "FileInstall updated the bundle");
                        System.err.println("e2e: redeployed as " + version);
                        // The updated bundle (a new class loader, its own copy of JNA's native part) reached the engine.
                        assertTrue(E2eSupport.await(Duration.ofSeconds(20), () -> connectedLines(agent) >= 2),
                                "the redeployed source connected to the engine again");

                        // The engine goes away under the running agent (a crash or an upgrade: dockerd stopped, its
                        // containers with it) and comes back: status says the source is disconnected meanwhile, the
                        // netns endpoints never notice (the prober), and the containers, restarted by their policy in
                        // new namespaces, are ready and enforced again.
                        prober.phase("engine restart");
                        long connectedBefore = connectedLines(agent);
                        E2eSupport.Run killed = E2eSupport.sh(Duration.ofSeconds(90), script.toString(), "kill");
                        assertEquals(0, killed.exit(), killed.toString());
                        assertTrue(E2eSupport.await(Duration.ofSeconds(30), () -> Boolean.FALSE.equals(containerSource(agent))),
                                "status says the container source is disconnected while the engine is down: "
                                        + agent.cli("status").out());
                        long engineDown = System.nanoTime();
                        E2eSupport.Run restarted = E2eSupport.sh(Duration.ofSeconds(120), script.toString(), "start");
                        assertEquals(0, restarted.exit(), restarted.toString());
                        assertTrue(E2eSupport.await(Duration.ofSeconds(60), () -> connectedLines(agent) > connectedBefore
                                && containerSourceConnected(agent)), "the source connected to the engine again");
                        boolean back = E2eSupport.await(Duration.ofSeconds(90), () -> ids.stream().allMatch(id -> {
                            JsonNode e = endpoint(agent, id);
                            return "ready".equals(e.path("state").asText())
                                    && e.path("addresses").path(0).asText().equals(containerIp(id));
                        }));
                        if (!back) fail("containers not ready in their new namespaces after the engine restart: "
                                + agent.cli("endpoint", "list").out());
                        String webIpAfter = containerIp(web);
                        assertTrue(E2eSupport.await(Duration.ofSeconds(30), () -> connects(client, webIpAfter)
                                && !connects(other, webIpAfter)), "the policy is enforced on the restarted containers");
                        System.err.println("e2e: engine restarted; containers ready and enforced again "
                                + (System.nanoTime() - engineDown) / 1_000_000 + " ms after the engine went down");

                        // What the kernel holds for the containers and for the netns endpoints, before the undeploy.
                        List<Long> dockerIds = ids.stream().map(id -> endpoint(agent, id).path("id").asLong()).toList();
                        List<String> dockerIps = new ArrayList<>();
                        List<String> dockerVeths = new ArrayList<>();
                        for (String id : ids) {
                            JsonNode e = endpoint(agent, id);
                            e.path("addresses").forEach(a -> dockerIps.add(a.asText()));
                            dockerVeths.add(e.path("interfaceName").asText());
                        }
                        List<Long> nsIds = new ArrayList<>();
                        List<String> nsIps = List.of(server.ip(), nsClient.ip(), intruder.ip());
                        for (JsonNode e : agent.get("/v1/endpoints")) {
                            if ("netns".equals(e.path("source").asText())) nsIds.add(e.path("id").asLong());
                        }
                        assertEquals(3, nsIds.size(), "three netns endpoints");
                        assertTrue(bpfEndpointIds(agent).containsAll(dockerIds), "the containers are in the endpoint map");
                        assertTrue(ipcachePrefixes(agent).containsAll(dockerIps.stream().map(ip -> ip + "/32").toList()),
                                "the containers' addresses are in the ipcache: " + ipcachePrefixes(agent));
                        long webId = endpoint(agent, web).path("id").asLong();
                        assertFalse(policyEntries(agent, webId).isEmpty(), "web has policy entries");
                        for (String v : dockerVeths) assertTrue(tcAttached(v), "programs attached to " + v);
                        String nsBefore = netnsDatapath(agent, nsIds, nsIps);

                        prober.phase("undeploy");
                        long undeployed = System.nanoTime();
                        Files.delete(home.resolve("deploy/septum-source-docker.jar"));
                        boolean gone = E2eSupport.await(Duration.ofSeconds(30), () -> ids.stream()
                                .allMatch(id -> "disconnected".equals(endpoint(agent, id).path("state").asText())));
                        if (!gone) {
                            fail("docker endpoints not disconnected within 30 s after undeploy: "
                                    + agent.cli("endpoint", "list", "-o", "json").out());
                        }
                        // Within the grace period the containers keep their datapath state, so still enforced.
                        if (System.nanoTime() - undeployed < GRACE.minusSeconds(5).toNanos()) {
                            assertTrue(bpfEndpointIds(agent).containsAll(dockerIds), "still in the endpoint map during the grace");
                            for (String v : dockerVeths) assertTrue(tcAttached(v), "still attached to " + v + " during the grace");
                            assertFalse(connects(other, webIpAfter), "still enforced during the grace: other -> web:80 denied");
                        }
                        // After it, everything of theirs is gone from the kernel, and nothing else changed.
                        boolean removed = E2eSupport.await(GRACE.plusSeconds(30), () -> {
                            try {
                                List<Long> eps = bpfEndpointIds(agent);
                                List<String> prefixes = ipcachePrefixes(agent);
                                return dockerIds.stream().noneMatch(eps::contains)
                                        && dockerIps.stream().noneMatch(ip -> prefixes.contains(ip + "/32"))
                                        && dockerVeths.stream().noneMatch(DockerSourceIT::tcAttached);
                            } catch (IOException e) {
                                return false;
                            }
                        });
                        long after = (System.nanoTime() - undeployed) / 1_000_000;
                        if (!removed) {
                            fail("datapath state of the containers not removed within " + GRACE.plusSeconds(30).toSeconds()
                                    + " s of the undeploy: endpoints " + bpfEndpointIds(agent) + ", ipcache "
                                    + ipcachePrefixes(agent) + "\n" + agent.cli("endpoint", "list").out());
                        }
                        System.err.println("e2e: container datapath state removed " + after + " ms after the undeploy (grace "
                                + GRACE.toSeconds() + " s)");
                        assertTrue(after >= GRACE.toMillis() - 1000, "not removed before the grace period ended: " + after + " ms");
                        assertTrue(policyEntries(agent, webId).isEmpty(), "web's policy entries are gone");
                        assertTrue(ids.stream().allMatch(id -> endpoint(agent, id).isMissingNode()),
                                "the containers' endpoints are gone: " + agent.cli("endpoint", "list").out());
                        assertEquals(nsBefore, netnsDatapath(agent, nsIds, nsIps),
                                "the netns endpoints' datapath state is untouched");
                        prober.phase("after undeploy");
                        prober.awaitRounds(3);
                    } finally {
                        prober.stop();
                    }
                    assertTrue(prober.rounds() > 3, "the netns prober ran");
                    assertTrue(prober.wrong().isEmpty(), "netns probes went wrong while the docker source came and went:\n"
                            + String.join("\n", prober.wrong()));
                } catch (RuntimeException | Error e) {
                    agent.printLog();
                    throw e;
                }
            }
        } finally {
            for (String c : docker("ps", "-aq", "--filter", "name=sept-t-").split("\\s+")) {
                if (!c.isBlank()) docker("rm", "-f", c);
            }
            E2eSupport.sh(Duration.ofSeconds(60), script.toString(), "stop");
            TestFiles.deleteTree(home);
        }
    }

    private static final Duration GRACE = Duration.ofSeconds(20);
    private static final Duration ALLOW_TIMEOUT = Duration.ofMillis(1500);

    /** Endpoint ids in the kernel's endpoint map ({@code septum bpf endpoint list}). */
    private static List<Long> bpfEndpointIds(E2eSupport.Agent agent) throws IOException {
        List<Long> out = new ArrayList<>();
        for (JsonNode e : agent.get("/v1/bpf/endpoints")) out.add(e.path("endpointId").asLong());
        return out;
    }

    private static List<String> ipcachePrefixes(E2eSupport.Agent agent) throws IOException {
        List<String> out = new ArrayList<>();
        for (JsonNode e : agent.get("/v1/bpf/ipcache")) out.add(e.path("prefix").asText());
        return out;
    }

    /** An endpoint's policy-map entries without their packet counts; empty when the endpoint is gone. */
    private static List<String> policyEntries(E2eSupport.Agent agent, long id) {
        List<String> out = new ArrayList<>();
        try {
            for (JsonNode e : agent.get("/v1/bpf/policy/" + id)) {
                ((com.fasterxml.jackson.databind.node.ObjectNode) e).remove("packets");
                out.add(e.toString());
            }
        } catch (IOException e) {
            // 404: no such endpoint any more
        }
        Collections.sort(out);
        return out;
    }

    /** The netns endpoints' map entries, policy entries and ipcache entries, as one comparable text. */
    private static String netnsDatapath(E2eSupport.Agent agent, List<Long> ids, List<String> ips) throws IOException {
        List<String> out = new ArrayList<>();
        for (JsonNode e : agent.get("/v1/bpf/endpoints")) {
            if (ids.contains(e.path("endpointId").asLong())) out.add("endpoint " + e);
        }
        for (long id : ids) out.add("policy " + id + " " + policyEntries(agent, id));
        for (JsonNode e : agent.get("/v1/bpf/ipcache")) {
            if (ips.stream().anyMatch(ip -> e.path("prefix").asText().startsWith(ip + "/"))) out.add("ipcache " + e);
        }
        Collections.sort(out);
        return String.join("\n", out);
    }

    /** Whether a tc program is attached to the interface's ingress hook. */
    private static boolean tcAttached(String ifname) {
        E2eSupport.Run r = E2eSupport.sh(Duration.ofSeconds(10), "tc", "filter", "show", "dev", ifname, "ingress");
        return r.exit() == 0 && r.out().contains("bpf");
    }

    /**
     * A copy of the bundle with a newer {@code Bundle-Version} (a qualifier of its own), as a rebuild would make;
     * returns that version.
     */
    private static String rebuild(Path jar, Path to, String tag) throws IOException {
        try (java.util.jar.JarInputStream in = new java.util.jar.JarInputStream(Files.newInputStream(jar))) {
            java.util.jar.Manifest mf = new java.util.jar.Manifest(in.getManifest());
            String v = mf.getMainAttributes().getValue("Bundle-Version");
            String[] f = v.split("\\.");
            String version = f[0] + "." + f[1] + "." + f[2] + "." + (f.length > 3 ? f[3] : "") + "z" + tag;
            mf.getMainAttributes().putValue("Bundle-Version", version);
            try (java.util.jar.JarOutputStream out = new java.util.jar.JarOutputStream(Files.newOutputStream(to), mf)) {
                for (java.util.jar.JarEntry e; (e = in.getNextJarEntry()) != null; ) {
                    if (e.getName().equalsIgnoreCase("META-INF/MANIFEST.MF")) continue;
                    out.putNextEntry(new java.util.jar.JarEntry(e.getName()));
                    in.transferTo(out);
                    out.closeEntry();
                }
            }
            return version;
        }
    }

    private static String readQuietly(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return "";
        }
    }
    private static final Duration DENY_TIMEOUT = Duration.ofMillis(500);

    /** Whether {@code status} shows the container source connected to its engine; null when status does not say. */
    private static Boolean containerSource(E2eSupport.Agent agent) {
        try {
            for (JsonNode src : agent.get("/v1/status").path("sources")) {
                if ("container".equals(src.path("source").asText()) && src.has("connected")) {
                    return src.path("connected").asBoolean();
                }
            }
        } catch (IOException e) {
            // the agent is busy: not known
        }
        return null;
    }

    private static boolean containerSourceConnected(E2eSupport.Agent agent) {
        return Boolean.TRUE.equals(containerSource(agent));
    }

    /** The container's address as the engine says now (empty while it is not running). */
    private static String containerIp(String id) {
        try {
            return docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", id);
        } catch (RuntimeException | AssertionError e) {
            return "";
        }
    }

    private static long connectedLines(E2eSupport.Agent agent) {
        try {
            return Files.readAllLines(agent.log).stream().filter(l -> l.contains("source docker: connected to")).count();
        } catch (IOException e) {
            return 0;
        }
    }

    /** The agent's endpoint with this container id among its external ids, or a missing node. */
    private static JsonNode endpoint(E2eSupport.Agent agent, String containerId) {
        return agent.endpoint(e -> containerId.equals(e.path("externalIds").path("container-id").asText()));
    }

    private static boolean connects(String from, String ip) {
        return connects(from, ip, 0);
    }

    /**
     * A TCP connect from inside a container with busybox nc; {@code refusedOk} 1 counts a refused connection as
     * reached (the packet got there and back), which is how an unrestricted path to a closed port looks.
     */
    private static boolean connects(String from, String ip, int refusedOk) {
        E2eSupport.Run r = E2eSupport.exec(Duration.ofSeconds(10), List.of("docker", "-H", SOCK, "exec", from,
                "nc", "-w", "2", ip, refusedOk == 1 ? "81" : "80", "-e", "true"));
        if (refusedOk == 1) return r.exit() == 0 || r.err().contains("refused") || r.out().contains("refused");
        return r.exit() == 0;
    }
}
