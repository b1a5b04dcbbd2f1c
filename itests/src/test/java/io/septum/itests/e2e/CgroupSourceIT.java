package io.septum.itests.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import io.septum.itests.osgi.SeptumTestSupport;
import io.septum.testsupport.TestFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The cgroup source hot-deployed into the real distribution, with real processes in a real cgroup v2 directory and
 * real connections: a rule turns the cgroup into an endpoint, a policy lets its processes connect only to one
 * network-namespace endpoint on port 80 and lets only that endpoint reach its listening port, the drops show up as
 * flows, enforcement goes on through a {@code kill -9} and restart of the agent, a rule that tries a reserved label
 * changes nothing, and removing the cgroup removes the endpoint.
 *
 * <p>The agent runs from a private home (links to the distribution's lib/ and bundle/, its own etc/ and deploy/).
 */
class CgroupSourceIT {
    private static final Duration ALLOW = Duration.ofMillis(1500);

    @Test
    void cgroupProcessesAreEnforcedBothWays() throws Exception {
        Path dist = E2eSupport.distribution();
        Path jar = E2eSupport.optionalJar(dist, "septum-source-cgroup.jar");
        Path mount = SeptumTestSupport.cgroup2Mount();
        if (!Boolean.getBoolean("septum.e2e.required")) Assumptions.assumeTrue(mount != null, "no cgroup v2 mount");
        String tag = E2eSupport.rand();
        int port = 20000 + ThreadLocalRandom.current().nextInt(20000);
        Path parent = mount.resolve("sept-t" + tag);
        Path svc = parent.resolve("svc");
        Path home = Files.createTempDirectory("septum-e2e-cgroup-home");
        List<Process> processes = new ArrayList<>();
        try {
            E2eSupport.privateHome(home, dist);
            Files.createDirectory(parent);
            String rules = "rule.svc.path=sept-t" + tag + "/*\nrule.svc.labels=app=sept-cg,tier=back\nscanIntervalSeconds=2\n";
            Files.writeString(home.resolve("etc/io.septum.source.cgroup.cfg"), rules);

            try (E2eSupport.Agent agent = E2eSupport.Agent.start(home.resolve("bin/septum")); E2eNet net = new E2eNet()) {
                try {
                    E2eNet.Node ok = net.add("cg-peer-ok");
                    E2eNet.Node bad = net.add("cg-peer-bad");
                    String hostIp = net.hostIp();
                    net.echo(ok, 80);
                    net.echo(bad, 80);
                    E2eNet.addEndpoint(agent, ok, "role=cg-peer-ok");
                    E2eNet.addEndpoint(agent, bad, "role=cg-peer-bad");

                    Files.copy(jar, home.resolve("deploy/septum-source-cgroup.jar"));
                    // the cgroup appears after the source: the watch on its parent sees it
                    Files.createDirectory(svc);
                    processes.add(inCgroup(svc, "socat", "TCP4-LISTEN:" + port + ",bind=" + hostIp + ",fork,reuseaddr", "PIPE"));
                    assertTrue(E2eSupport.await(Duration.ofSeconds(5), () -> E2eSupport.sh(Duration.ofSeconds(5), "ss", "-Hltn",
                            "sport = :" + port).out().contains(":" + port)), "the cgroup's listener started");
                    boolean ready = E2eSupport.await(Duration.ofSeconds(60), () ->
                            "ready".equals(endpoint(agent, "sept-t" + tag + "/svc").path("state").asText()));
                    if (!ready) fail("cgroup endpoint not ready within 60 s: " + agent.cli("endpoint", "list", "-o", "json").out());
                    JsonNode ep = endpoint(agent, "sept-t" + tag + "/svc");
                    assertEquals("svc", ep.path("name").asText());
                    assertEquals("default", ep.path("namespace").asText());
                    assertEquals("cgroup", ep.path("source").asText());
                    List<String> labels = E2eSupport.labels(ep);
                    assertEquals(List.of("cgroup:app=sept-cg", "cgroup:tier=back", "k8s:io.kubernetes.pod.namespace=default"), labels);
                    long id = ep.path("id").asLong();

                    assertTrue(E2eSupport.await(Duration.ofSeconds(10), () -> cgroupConnects(svc, ok.ip(), 80)
                            && cgroupConnects(svc, bad.ip(), 80) && net.tcp(bad, hostNode(hostIp), port, ALLOW)),
                            "without a policy the cgroup reaches both peers and both reach it");

                    Path policy = home.resolve("cg-policy.yaml");
                    agent.importPolicy(policy, policy(port));
                    assertTrue(E2eSupport.await(Duration.ofSeconds(30), () -> !cgroupConnects(svc, bad.ip(), 80)),
                            "egress from the cgroup to cg-peer-bad:80 is denied");
                    assertTrue(cgroupConnects(svc, ok.ip(), 80), "egress to cg-peer-ok:80 is allowed");
                    assertFalse(cgroupConnects(svc, ok.ip(), 81), "egress to cg-peer-ok on another port is denied");
                    assertTrue(net.tcp(ok, hostNode(hostIp), port, ALLOW), "cg-peer-ok reaches the cgroup's port");
                    assertFalse(net.tcp(bad, hostNode(hostIp), port, Duration.ofMillis(700)), "cg-peer-bad does not");

                    JsonNode get = agent.cli("endpoint", "get", String.valueOf(id), "-o", "json").json();
                    assertTrue(get.path("policyIngress").asBoolean() && get.path("policyEgress").asBoolean(), get.toString());
                    // the drops, as flows of the cgroup endpoint in both directions
                    assertTrue(E2eSupport.await(Duration.ofSeconds(10), () -> hasDrop(agent, id, "EGRESS", bad.ip(), 80)
                            && hasDrop(agent, id, "INGRESS", bad.ip(), port)), "drop flows of the cgroup endpoint: "
                            + flows(agent));
                    E2eSupport.Run bpf = agent.cli("bpf", "endpoint", "list", "-o", "json");
                    assertTrue(bpf.out().contains(svc.toString()), "bpf endpoint list shows the cgroup: " + bpf);

                    // kill -9: the pinned links go on enforcing; the next agent takes the endpoint back with its id
                    agent.kill9();
                    assertFalse(cgroupConnects(svc, bad.ip(), 80), "enforced while no agent runs");
                    assertTrue(cgroupConnects(svc, ok.ip(), 80), "allowed while no agent runs");
                    agent.restart();
                    assertTrue(E2eSupport.await(Duration.ofSeconds(60), () ->
                            "ready".equals(endpoint(agent, "sept-t" + tag + "/svc").path("state").asText())),
                            "the cgroup endpoint ready after the restart");
                    assertEquals(id, endpoint(agent, "sept-t" + tag + "/svc").path("id").asLong(), "same endpoint id");
                    assertFalse(cgroupConnects(svc, bad.ip(), 80), "enforced after the restart");
                    assertTrue(cgroupConnects(svc, ok.ip(), 80), "allowed after the restart");
                    assertTrue(net.tcp(ok, hostNode(hostIp), port, ALLOW), "cg-peer-ok still reaches the cgroup's port");

                    // a rule that tries a reserved label: refused as a whole, the endpoint keeps its labels and policy
                    Files.writeString(home.resolve("etc/io.septum.source.cgroup.cfg"),
                            rules.replace("tier=back", "reserved:host"));
                    assertTrue(E2eSupport.await(Duration.ofSeconds(20), () -> agent.cli("status", "-o", "json").out()
                            .contains("rule.svc.labels: key")), "status names the bad key");
                    assertEquals(labels, E2eSupport.labels(endpoint(agent, "sept-t" + tag + "/svc")));
                    assertFalse(cgroupConnects(svc, bad.ip(), 80), "still enforced");

                    // the cgroup goes: its endpoint goes, and its programs with it
                    for (Process p : processes) E2eNet.kill(p, Duration.ofSeconds(5));
                    processes.clear();
                    assertTrue(E2eSupport.await(Duration.ofSeconds(10), () -> deleted(svc)), "cgroup removed");
                    assertTrue(E2eSupport.await(Duration.ofSeconds(20), () -> endpoint(agent, "sept-t" + tag + "/svc").isMissingNode()),
                            "the endpoint of a removed cgroup goes: " + agent.cli("endpoint", "list").out());
                } catch (RuntimeException | Error e) {
                    agent.printLog();
                    throw e;
                }
            }
        } finally {
            for (Process p : processes) E2eNet.kill(p, Duration.ofSeconds(5));
            E2eSupport.await(Duration.ofSeconds(10), () -> deleted(svc));
            E2eSupport.await(Duration.ofSeconds(10), () -> deleted(parent));
            TestFiles.deleteTree(home);
        }
    }

    private static String policy(int port) {
        return String.join("\n",
                "apiVersion: \"cilium.io/v2\"",
                "kind: CiliumNetworkPolicy",
                "metadata:",
                "  name: \"cg-svc\"",
                "spec:",
                "  endpointSelector:",
                "    matchLabels: {app: sept-cg}",
                "  egress:",
                "  - toEndpoints:",
                "    - matchLabels: {role: cg-peer-ok}",
                "    toPorts:",
                "    - ports:",
                "      - {port: \"80\", protocol: TCP}",
                "  ingress:",
                "  - fromEndpoints:",
                "    - matchLabels: {role: cg-peer-ok}",
                "    toPorts:",
                "    - ports:",
                "      - {port: \"" + port + "\", protocol: TCP}",
                "");
    }

    /** The host as a probe target: E2eNet probes a node, so the host address is dressed as one. */
    private static E2eNet.Node hostNode(String ip) {
        return new E2eNet.Node("host", null, null, ip);
    }

    private static Process inCgroup(Path cgroup, String... cmd) throws IOException {
        List<String> full = new ArrayList<>(List.of("sh", "-c", "echo $$ > " + cgroup.resolve("cgroup.procs")
                + " && exec \"$@\"", "sh"));
        full.addAll(List.of(cmd));
        return new ProcessBuilder(full).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    }

    /** A TCP echo through socat started inside the cgroup: true when the token came back. */
    private static boolean cgroupConnects(Path cgroup, String ip, int port) {
        List<String> full = new ArrayList<>(List.of("sh", "-c", "echo $$ > " + cgroup.resolve("cgroup.procs")
                + " && exec \"$@\"", "sh", "socat", "-t", "1.5", "-", "TCP4:" + ip + ":" + port + ",connect-timeout=1.5"));
        return E2eNet.echoes(new ProcessBuilder(full), "cg-" + E2eSupport.rand(), Duration.ofSeconds(5),
                p -> E2eNet.kill(p, Duration.ofSeconds(5)));
    }

    /** rmdir; a cgroup with members left is killed empty first. */
    private static boolean deleted(Path cgroup) {
        if (!Files.isDirectory(cgroup)) return true;
        try {
            Path procs = cgroup.resolve("cgroup.procs");
            if (Files.exists(procs)) {
                for (String pid : Files.readAllLines(procs)) {
                    if (!pid.isBlank()) ProcessHandle.of(Long.parseLong(pid.trim())).ifPresent(ProcessHandle::destroyForcibly);
                }
            }
            Files.delete(cgroup);
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static JsonNode endpoint(E2eSupport.Agent agent, String cgroupPath) {
        return agent.endpoint(e -> cgroupPath.equals(e.path("externalIds").path("cgroup-path").asText()));
    }

    private static String flows(E2eSupport.Agent agent) {
        try {
            return agent.get("/v1/flows").toString();
        } catch (IOException e) {
            return e.toString();
        }
    }

    private static boolean hasDrop(E2eSupport.Agent agent, long id, String direction, String peerIp, int port) {
        try {
            for (JsonNode f : agent.get("/v1/flows")) {
                if (f.path("endpoint_id").asLong() != id || !"DROPPED".equals(f.path("verdict").asText())) continue;
                if (!direction.equals(f.path("traffic_direction").asText())) continue;
                String peer = direction.equals("EGRESS") ? f.path("IP").path("destination").asText()
                        : f.path("IP").path("source").asText();
                if (peer.equals(peerIp) && f.path("l4").path("destination_port").asInt() == port) return true;
            }
        } catch (IOException e) {
            // busy: the caller polls
        }
        return false;
    }
}
