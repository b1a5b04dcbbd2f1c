package io.septum.itests.e2e;

import static io.septum.itests.e2e.E2eSupport.sh;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.septum.testsupport.TestFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * DNS rules and {@code toFQDNs} in the running agent, with real packets: a dnsmasq in an endpoint's namespace answers
 * the names, the client resolves them with busybox's nslookup through the agent's DNS proxy (the datapath hands it
 * the queries its DNS rule governs), a name outside the rule's pattern is REFUSED, and the address an allowed
 * lookup returned opens for the client's TCP connection, while another host stays closed. The learned address
 * survives an agent restart (the FQDN cache is kept), and {@code fqdn cache clean} closes it again.
 */
class FqdnPolicyIT {
    private static final Duration CMD = Duration.ofSeconds(10);

    @Test
    void lookupsThroughTheDnsProxyOpenTheAddressesToFqdnsNames() throws Exception {
        Path septum = E2eSupport.septum();
        Path work = Files.createTempDirectory("septum-fqdn-");
        try (E2eSupport.Agent agent = E2eSupport.Agent.start(septum); E2eNet net = new E2eNet()) {
            E2eNet.Node client = net.add("client");
            E2eNet.Node dns = net.add("dns");
            E2eNet.Node api = net.add("api-ext");
            E2eNet.Node other = net.add("other-ext");
            net.hostIp();
            net.echo(api, 8443);
            net.echo(other, 8443);
            Path log = work.resolve("dnsmasq.log");
            Process dnsmasq = new ProcessBuilder("ip", "netns", "exec", dns.netns(), "dnsmasq", "--keep-in-foreground",
                    "--no-resolv", "--no-hosts", "--bind-interfaces", "--listen-address=" + dns.ip(), "--user=root",
                    "--pid-file=" + work.resolve("dnsmasq.pid"), "--log-queries", "--log-facility=" + log,
                    "--local-ttl=60", "--host-record=api.example.com," + api.ip(),
                    "--host-record=www.example.com," + other.ip(), "--host-record=api.example.org," + other.ip())
                    .redirectErrorStream(true).redirectOutput(work.resolve("dnsmasq.out").toFile()).start();
            try {
                assertTrue(E2eSupport.await(Duration.ofSeconds(10), () -> sh(CMD, "ss", "-N", dns.netns(), "-H", "-l",
                        "-n", "-u").out().contains(dns.ip() + ":53 ")), "dnsmasq listens");
                E2eNet.addEndpoint(agent, client, "app=client");
                E2eNet.addEndpoint(agent, dns, "k8s-app=kube-dns");
                Path policy = work.resolve("fqdn.yaml");
                agent.importPolicy(policy, """
                        apiVersion: cilium.io/v2
                        kind: CiliumNetworkPolicy
                        metadata: {name: client-fqdn}
                        spec:
                          endpointSelector: {matchLabels: {app: client}}
                          egress:
                          - toEndpoints: [{matchLabels: {k8s-app: kube-dns}}]
                            toPorts:
                            - ports: [{port: "53", protocol: ANY}]
                              rules:
                                dns: [{matchPattern: "*.example.com"}]
                          - toFQDNs: [{matchName: api.example.com}]
                            toPorts: [{ports: [{port: "8443", protocol: TCP}]}]
                        """);
                assertTrue(E2eSupport.await(Duration.ofSeconds(30), () -> dnsProxyUp(agent)),
                        () -> "dns-proxy ready: " + agent.cli("status", "-o", "json").out());
                // wait until the client's egress is enforced: the world is closed
                assertTrue(E2eSupport.await(Duration.ofSeconds(30), () -> !net.tcp(client, other, 8443,
                        Duration.ofMillis(700))), "the client's egress is enforced");
                assertFalse(net.tcp(client, api, 8443, Duration.ofSeconds(1)), "closed before any lookup");

                String answer = nslookup(client, "api.example.com", dns);
                assertTrue(answer.contains(api.ip()), answer);
                assertTrue(E2eSupport.await(Duration.ofSeconds(15), () -> net.tcp(client, api, 8443,
                        Duration.ofSeconds(1))), () -> "the looked-up address opens: "
                        + agent.cli("fqdn", "cache", "list").out() + agent.cli("bpf", "ipcache", "list").out());
                // a name the pattern admits but toFQDNs does not select: answered, still closed
                String www = nslookup(client, "www.example.com", dns);
                assertTrue(www.contains(other.ip()), www);
                assertFalse(net.tcp(client, other, 8443, Duration.ofSeconds(1)), "www.example.com is not selected");
                // a name outside the DNS rule's pattern: REFUSED by the proxy, dnsmasq never asked
                String refused = nslookup(client, "api.example.org", dns);
                assertFalse(refused.contains(other.ip()), refused);
                assertFalse(Files.readString(log).contains("api.example.org"), "the refused query never reached dnsmasq");

                JsonNode cache = agent.cli("fqdn", "cache", "list", "-o", "json").json();
                assertTrue(has(cache, "api.example.com", api.ip()), cache.toString());
                assertTrue(has(cache, "www.example.com", other.ip()), cache.toString());
                assertTrue(cache.get(0).path("ttl").asLong() >= 3600, "the minimum TTL applies: " + cache);
                String flows = agent.cli("observe", "--last", "200", "-o", "json").out();
                assertTrue(dnsFlow(flows, "REQUEST", "api.example.org.", "DROPPED"), "the refused query is a flow");
                assertTrue(dnsFlow(flows, "RESPONSE", "api.example.com.", "FORWARDED"), "the answer is a flow");
                String text = agent.cli("observe", "--last", "200").out();
                assertTrue(text.contains("dns-request proxy FORWARDED (DNS Query api.example.com. A)"), text);

                // kept across a restart: the address stays open without a new lookup
                agent.restart();
                assertTrue(E2eSupport.await(Duration.ofSeconds(30), () -> dnsProxyUp(agent)), "dns-proxy after restart");
                assertTrue(net.tcp(client, api, 8443, Duration.ofSeconds(2)), "open after the restart");

                JsonNode cleaned = agent.cli("fqdn", "cache", "clean", "-o", "json").json();
                assertTrue(cleaned.path("removed").asInt() >= 2, cleaned.toString());
                assertTrue(E2eSupport.await(Duration.ofSeconds(15), () -> !net.tcp(client, api, 8443,
                        Duration.ofMillis(700))), "closed once the cache forgets the name");
            } finally {
                dnsmasq.descendants().forEach(ProcessHandle::destroyForcibly);
                dnsmasq.destroyForcibly();
                dnsmasq.waitFor();
            }
        } finally {
            TestFiles.deleteTree(work);
        }
    }

    private static boolean dnsProxyUp(E2eSupport.Agent agent) {
        for (JsonNode c : agent.cli("status", "-o", "json").json().path("components")) {
            if ("dns-proxy".equals(c.path("name").asText())) return "ok".equals(c.path("state").asText());
        }
        return false;
    }

    /** busybox nslookup from inside {@code from}; its output (answers, or why none). */
    private static String nslookup(E2eNet.Node from, String name, E2eNet.Node server) {
        E2eSupport.Run r = sh(Duration.ofSeconds(15), "ip", "netns", "exec", from.netns(), "busybox", "nslookup",
                "-type=a", name, server.ip());
        return r.out() + r.err();
    }

    private static boolean has(JsonNode cache, String name, String ip) {
        for (JsonNode e : cache) if (name.equals(e.path("name").asText()) && ip.equals(e.path("ip").asText())) return true;
        return false;
    }

    /** Whether {@code observe -o json}'s lines (one flow each) hold this DNS flow. */
    private static boolean dnsFlow(String flows, String type, String query, String verdict) throws Exception {
        for (String line : flows.split("\n")) {
            if (line.isBlank()) continue;
            JsonNode f = E2eSupport.JSON.readTree(line);
            JsonNode l7 = f.path("l7");
            if (type.equals(l7.path("type").asText()) && query.equals(l7.path("dns").path("query").asText())
                    && verdict.equals(f.path("verdict").asText())) return true;
        }
        return false;
    }
}
