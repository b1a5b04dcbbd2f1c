package io.septum.proxy.http.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import io.septum.api.IpcacheEntry;
import io.septum.api.datapath.Datapath;
import io.septum.api.datapath.DatapathEndpoint;
import io.septum.api.datapath.DatapathEvent;
import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowEndpoint;
import io.septum.api.policy.Direction;
import io.septum.api.policy.PolicyAction;
import io.septum.api.policy.PolicyEntry;
import io.septum.api.policy.Protocol;
import io.septum.datapath.ebpf.internal.EbpfDatapath;
import io.septum.datapath.ebpf.internal.NetLab;
import io.septum.testsupport.EventLog;
import io.septum.testsupport.RequiresRoot;
import io.septum.testsupport.TestFiles;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Star Wars L7 path with real packets: three network namespaces on a bridge (which has an address, so that
 * the host can reach them), the real tc programs, and the real proxy listening transparently in the host. The
 * deathstar's ingress entry for the tiefighter on 80/TCP is REDIRECT; the xwing has none. Needs root.
 */
@RequiresRoot("netns, tc, bpffs, IP_TRANSPARENT")
class ProxyRedirectPacketTest {
    static final long ID_DEATHSTAR = 256, ID_TIEFIGHTER = 257, ID_XWING = 258;
    static final long EP_DEATHSTAR = 21, EP_TIEFIGHTER = 22, EP_XWING = 23;
    static final String SERVER = """
            import http.server, sys
            class H(http.server.BaseHTTPRequestHandler):
                protocol_version = 'HTTP/1.1'
                def answer(self):
                    n = int(self.headers.get('Content-Length') or 0)
                    self.rfile.read(n)
                    if self.command == 'POST' and self.path == '/v1/request-landing':
                        body = b'Ship landed\\n'
                    elif self.command == 'PUT' and self.path == '/v1/exhaust-port':
                        body = b'Panic: deathstar exploded\\n'
                    else:
                        body = b'not found\\n'
                    self.send_response(200)
                    self.send_header('Content-Length', str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                do_POST = do_PUT = do_GET = answer
                def log_message(self, *a):
                    pass
            http.server.ThreadingHTTPServer(('0.0.0.0', 80), H).serve_forever()
            """;

    static final EventLog<DatapathEvent> events = new EventLog<>(DatapathEvent::timestampNanos);
    static final List<Flow> flows = new CopyOnWriteArrayList<>();
    static Path pinDir;
    static EbpfDatapath dp;
    static HttpProxy proxy;
    static int proxyPort;
    static DatapathEndpoint deathstar, tiefighter, xwing;

    static NetLab lab;
    static NetLab.Ns deathstarNode, tiefighterNode, xwingNode;

    @BeforeAll
    static void setUp() throws Exception {
        lab = new NetLab();
        pinDir = Path.of("/sys/fs/bpf/sept-t" + lab.id + "p");
        lab.hostIp();
        deathstarNode = lab.add(1);
        tiefighterNode = lab.add(2);
        xwingNode = lab.add(3);
        lab.start(deathstarNode, "python3", "-c", SERVER);

        dp = new EbpfDatapath(pinDir, EbpfDatapath.bundledObject(), events);
        dp.open();
        dp.syncIpcache(List.of(new IpcacheEntry(deathstarNode.ip4() + "/32", ID_DEATHSTAR, "test"),
                new IpcacheEntry(tiefighterNode.ip4() + "/32", ID_TIEFIGHTER, "test"),
                new IpcacheEntry(xwingNode.ip4() + "/32", ID_XWING, "test")));
        deathstar = new DatapathEndpoint(EP_DEATHSTAR, ID_DEATHSTAR, deathstarNode.hostIf(), deathstarNode.ifindex(),
                List.of(deathstarNode.ip4()), true, false, false);
        tiefighter = new DatapathEndpoint(EP_TIEFIGHTER, ID_TIEFIGHTER, tiefighterNode.hostIf(), tiefighterNode.ifindex(),
                List.of(tiefighterNode.ip4()), false, false, false);
        xwing = new DatapathEndpoint(EP_XWING, ID_XWING, xwingNode.hostIf(), xwingNode.ifindex(),
                List.of(xwingNode.ip4()), false, false, false);
        // rule1: org=empire may reach the deathstar on 80/TCP, through the L7 proxy
        dp.upsertEndpoint(deathstar, List.of(new PolicyEntry(Direction.INGRESS, ID_TIEFIGHTER, Protocol.TCP, 80, 80,
                PolicyAction.REDIRECT, 1)));
        dp.upsertEndpoint(tiefighter, List.of());
        dp.upsertEndpoint(xwing, List.of());

        proxy = new HttpProxy(new ProxySettings(0, 64, 8192, 1 << 20, 5_000, 30_000, 2_000,
                Datapath.PROXY_UPSTREAM_MARK, true), starWars(), flows::add, a -> a);
        proxyPort = proxy.start().getPort();
        dp.setProxyPort(proxyPort);
        lab.awaitListening(deathstarNode, 80);
    }

    /** Also after a failed {@code @BeforeAll} (JUnit runs it then too): it tears down whatever was made. */
    @AfterAll
    static void tearDown() {
        if (proxy != null) proxy.close();
        if (dp != null) dp.close();
        if (lab != null) lab.close();
        TestFiles.deleteTree(pinDir);
    }

    /** Admits POST /v1/request-landing, as rule1's HTTP part; flows name the sides by their addresses. */
    static StarWarsJudge starWars() {
        return new StarWarsJudge(EP_DEATHSTAR, ProxyRedirectPacketTest::byAddress, ProxyRedirectPacketTest::byAddress, r -> {
        });
    }

    static FlowEndpoint byAddress(InetSocketAddress a) {
        return new FlowEndpoint(0, 0, null, a.getAddress().getHostAddress(), List.of());
    }

    record Curl(int exit, int status, String body) {
    }

    /** curl inside {@code from}: exit code, HTTP status and body. */
    static Curl curl(NetLab.Ns from, String method, String path) throws Exception {
        Process p = new ProcessBuilder("ip", "netns", "exec", from.name(), "curl", "-s", "--connect-timeout", "2", "-m", "4",
                "-X", method, "-w", "\n%{http_code}", "http://" + deathstarNode.ip4() + path)
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return new Curl(-1, 0, out);
        }
        int nl = out.lastIndexOf('\n');
        int status = 0;
        try {
            status = Integer.parseInt(out.substring(nl + 1).trim());
        } catch (NumberFormatException ignored) {
            // no status: no response
        }
        return new Curl(p.exitValue(), status, nl >= 0 ? out.substring(0, nl) : out);
    }

    static DatapathEvent awaitEvent(String what, Predicate<DatapathEvent> p) throws InterruptedException {
        return events.await(what, p);
    }

    @Test
    void tiefighterLandsButCannotExhaustAndXwingIsDroppedBeforeTheProxy() throws Exception {
        events.forget();
        flows.clear();
        Curl post = curl(tiefighterNode, "POST", "/v1/request-landing");
        assertEquals(200, post.status(), post + " events " + events + " flows " + flows);
        assertEquals("Ship landed", post.body().trim());
        DatapathEvent redirected = awaitEvent("REDIRECTED verdict of the tiefighter's connection",
                e -> e.endpointId() == EP_TIEFIGHTER && "REDIRECTED".equals(e.verdict()) && e.dstPort() == 80);
        assertEquals(1, redirected.ruleId(), "the deathstar's redirecting rule");
        assertTrue(flows.stream().anyMatch(f -> "RESPONSE".equals(f.l7().type()) && f.l7().http().code() == 200),
                "the proxy saw the request: " + flows);

        Curl put = curl(tiefighterNode, "PUT", "/v1/exhaust-port");
        assertEquals(403, put.status(), put.toString());
        assertEquals("Access denied", put.body().trim());

        int before = flows.size();
        Curl x = curl(xwingNode, "POST", "/v1/request-landing");
        assertNotEquals(0, x.exit(), "the xwing's connection does not complete: " + x);
        assertEquals(0, x.status());
        awaitEvent("the xwing's SYN dropped by the deathstar's L3/L4 policy",
                e -> e.endpointId() == EP_DEATHSTAR && "DROPPED".equals(e.verdict()) && e.dropReason() == 133
                        && e.srcIp().equals(xwingNode.ip4()));
        assertEquals(before, flows.size(), "the proxy never saw the xwing");
    }

    @Test
    void withoutAProxyRedirectedConnectionsFailClosed() throws Exception {
        try {
            dp.setProxyPort(0);
            events.forget();
            Curl c = curl(tiefighterNode, "POST", "/v1/request-landing");
            assertEquals(0, c.status(), "no proxy port: no answer at all, " + c);
            awaitEvent("drop with reason 183", e -> e.endpointId() == EP_TIEFIGHTER && e.dropReason() == 183);

            // a port where nothing listens (the proxy died): the same
            int dead;
            try (java.net.ServerSocket ss = new java.net.ServerSocket(0)) {
                dead = ss.getLocalPort();
            }
            dp.setProxyPort(dead);
            Curl d = curl(tiefighterNode, "POST", "/v1/request-landing");
            assertEquals(0, d.status(), "no listener: no answer at all, " + d);
        } finally {
            dp.setProxyPort(proxyPort);
        }
        assertEquals(200, curl(tiefighterNode, "POST", "/v1/request-landing").status(), "redirection works again");
    }

    @Test
    void hostTrafficToARedirectedPortNeverBypassesTheProxy() throws Exception {
        PolicyEntry tiefighterL7 = new PolicyEntry(Direction.INGRESS, ID_TIEFIGHTER, Protocol.TCP, 80, 80, PolicyAction.REDIRECT, 1);
        // the host's address is not in the ipcache: world (2), redirected by a rule for it
        dp.upsertEndpoint(deathstar, List.of(tiefighterL7,
                new PolicyEntry(Direction.INGRESS, 2, Protocol.TCP, 80, 80, PolicyAction.REDIRECT, 2)));
        try {
            events.forget();
            Process p = new ProcessBuilder("curl", "-s", "--connect-timeout", "2", "-m", "3", "-X", "POST", "-w", "%{http_code}",
                    "http://" + deathstarNode.ip4() + "/v1/request-landing").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor(10, TimeUnit.SECONDS);
            // septum_to_ep hands it to the proxy as it does a client of another node's (REDIRECTED), but a packet whose
            // source is the host's own address cannot come in again: the kernel drops it (a martian), so the host's
            // own connection fails closed instead of reaching the deathstar past the proxy
            assertEquals("000", out.trim(), "the host's own connection fails closed");
            awaitEvent("REDIRECTED at the deathstar by rule 2", e -> e.endpointId() == EP_DEATHSTAR
                    && "REDIRECTED".equals(e.verdict()) && e.ruleId() == 2);
        } finally {
            dp.upsertEndpoint(deathstar, List.of(tiefighterL7));
        }
    }
}
