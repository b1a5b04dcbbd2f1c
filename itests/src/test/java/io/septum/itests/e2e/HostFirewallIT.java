package io.septum.itests.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The host firewall through the real distribution, with real packets: the lab's bridge (with the host's address on
 * it) is the host interface the agent is configured with, and a namespace on that bridge is a client from the world.
 * A host policy (a CCNP with a nodeSelector matching the node's configured label) that allows only HTTP lets port 80
 * reach the host and drops 8080; SSH (22) stays reachable as a failsafe port although no rule names it; the verdict
 * survives a {@code kill -9} and restart of the agent; deleting the policy opens the host again. "Reached" means
 * the host's TCP stack answered (a connection or a reset), "dropped" that nothing came back in time: no server
 * has to listen on the host.
 */
class HostFirewallIT {
    private static final String POLICY = """
            apiVersion: cilium.io/v2
            kind: CiliumClusterwideNetworkPolicy
            metadata: {name: host-http-only}
            spec:
              nodeSelector: {matchLabels: {node-access: lab}}
              ingress:
              - fromEntities: [world]
                toPorts: [{ports: [{port: "80", protocol: TCP}]}]
            """;

    @Test
    void aHostPolicyAllowsOnlyItsPortsAndTheFailsafeOnes() throws Exception {
        Path dist = E2eSupport.distribution();
        Path home = Files.createTempDirectory("septum-e2e-hostfw-home");
        try (E2eNet net = new E2eNet()) {
            E2eNet.Node peer = net.add("hostfw-peer");
            String hostIp = net.hostIp();
            E2eSupport.privateHome(home, dist);
            Path cfg = home.resolve("etc/io.septum.endpoints.cfg");
            Files.writeString(cfg, Files.readString(cfg) + "hostInterfaces=" + net.bridge + "\nnodeLabels=node-access=lab\n");
            try (E2eSupport.Agent agent = E2eSupport.Agent.start(home.resolve("bin/septum"))) {
                assertTrue(E2eSupport.await(Duration.ofSeconds(30), () -> agent.cli("status", "-o", "json").out()
                        .contains("host firewall on " + net.bridge)), "status: " + agent.cli("status").out());
                assertTrue(reaches(peer, hostIp, 8080), "no host policy: the host is open");

                Path policy = home.resolve("host-policy.yaml");
                agent.importPolicy(policy, POLICY);
                assertTrue(E2eSupport.await(Duration.ofSeconds(30), () -> !reaches(peer, hostIp, 8080)),
                        "8080 is dropped once the host policy is in force");
                assertTrue(reaches(peer, hostIp, 80), "80 is allowed");
                assertTrue(reaches(peer, hostIp, 22), "22 is a failsafe port");

                JsonNode bpf = agent.cli("bpf", "endpoint", "list", "-o", "json").json();
                boolean hostEntry = false;
                for (JsonNode b : bpf) {
                    if (b.path("identity").asLong() == 1 && (b.path("flags").asInt() & 8) != 0) hostEntry = true;
                }
                assertTrue(hostEntry, "bpf endpoint list shows the host interface: " + bpf);
                JsonNode denied = agent.cli("policy", "trace", "-s", "reserved:world", "-d", "reserved:host,node-access=lab",
                        "--dport", "8080/TCP", "-o", "json").json();
                assertTrue(denied.has("allowed") && !denied.path("allowed").asBoolean(), "host ingress on 8080: " + denied);
                E2eSupport.Run traceOk = agent.cli("policy", "trace", "-s", "reserved:world", "-d",
                        "reserved:host,node-access=lab", "--dport", "80/TCP");
                assertTrue(traceOk.out().contains("host-http-only"), traceOk.toString());

                // the kernel keeps enforcing without the agent; a restarted agent takes the host back
                agent.kill9();
                assertTrue(!reaches(peer, hostIp, 8080) && reaches(peer, hostIp, 80), "enforced while no agent runs");
                agent.restart();
                assertTrue(E2eSupport.await(Duration.ofSeconds(30), () -> agent.cli("status", "-o", "json").out()
                        .contains("host firewall on " + net.bridge)), "status after the restart");
                assertTrue(!reaches(peer, hostIp, 8080) && reaches(peer, hostIp, 80), "enforced after the restart");

                E2eSupport.Run del = agent.cli("policy", "delete", "host-http-only", "-n", "-");
                assertEquals(0, del.exit(), del.toString());
                assertTrue(E2eSupport.await(Duration.ofSeconds(30), () -> reaches(peer, hostIp, 8080)),
                        "open again without the host policy");
            }
        } finally {
            E2eSupport.sh(Duration.ofSeconds(10), "rm", "-rf", home.toString());
        }
    }

    /** Whether the host's TCP stack answers a connection to ip:port from the node within 2 s (accepted or reset). */
    private static boolean reaches(E2eNet.Node from, String ip, int port) {
        E2eSupport.Run r = E2eSupport.sh(Duration.ofSeconds(10), "ip", "netns", "exec", from.netns(), "timeout", "2",
                "bash", "-c", "exec 3<>/dev/tcp/" + ip + "/" + port);
        return r.exit() == 0 || (r.err() + r.out()).contains("refused");
    }
}
