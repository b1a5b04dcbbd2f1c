package io.septum.itests.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.septum.testsupport.TestFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The web UI in a real browser against the real distribution: the agent runs with {@code etc/io.septum.webui.cfg}
 * enabling it, the Star Wars ships make real traffic (the tiefighter lands, the xwing's SYNs are dropped by rule1),
 * and headless Chromium opens the page. The map shows the three endpoints by name inside their namespace, a red
 * edge for the xwing's drops and a green one for the tiefighter; the live table has the flows; "why" names the
 * deciding rule, the default deny, and "no rule selects this endpoint"; the filter bar narrows the table; the
 * policy table shows rule1 with its hits; a new connection appears without a reload. Screenshots are kept under
 * {@code itests/target/screenshots/}.
 */
class WebUiIT {
    private static final Duration UI = Duration.ofSeconds(30);
    private static final Path SHOTS = Path.of("target", "screenshots");

    @Test
    void theMapTableAndWhyShowRealTrafficInABrowser() throws Exception {
        Path septum = E2eSupport.septum();
        Path chromium = Chromium.require();
        int port = freePort();
        Path home = home(septum, port);
        try (E2eSupport.Agent agent = E2eSupport.Agent.start(septum, home); E2eNet net = new E2eNet()) {
            assertTrue(E2eSupport.await(Duration.ofSeconds(20), () -> agent.cli("status").out()
                    .contains("web-ui:             ok   listening on http://127.0.0.1:" + port + "/")),
                    "status names the UI's address\n" + agent.cli("status"));
            StarWarsFleet fleet = StarWarsFleet.deploy(septum, agent, net);
            String ds = fleet.deathstar().name();
            String tie = fleet.tiefighter().name();
            String xwing = fleet.xwing().name();
            assertTrue(fleet.tiefighterLands(net), "the tiefighter lands");
            assertTrue(!fleet.xwingGetsThrough(net), "the xwing is dropped");

            try (Chromium browser = new Chromium(chromium, 1400, 1300)) {
                String url = "http://127.0.0.1:" + port + "/";
                browser.navigate(url);
                try {
                    // the map: endpoint nodes by name, in the namespace's compound node; edges coloured by verdict
                    JsonNode snap = awaitPage(browser, "the map with the three ships and both edges", "window.septumUi.snapshot()", s ->
                            hasNode(s, ds) && hasNode(s, tie) && hasNode(s, xwing)
                                    && edge(s, xwing, ds, "DROPPED") != null && edge(s, tie, ds, "FORWARDED") != null);
                    for (String n : new String[] {ds, tie, xwing}) {
                        assertEquals("ns:default", node(snap, n).path("parent").asText(), n + " sits in namespace default\n" + snap);
                    }
                    assertTrue(stream(snap.path("nodes")).anyMatch(n -> "default".equals(n.path("label").asText())
                            && "namespace".equals(n.path("kind").asText())), "a compound node for namespace default\n" + snap);
                    assertEquals("rgb(214,39,40)", edge(snap, xwing, ds, "DROPPED").path("color").asText().replace(" ", ""),
                            "the drop edge is red\n" + snap);
                    assertEquals("rgb(44,160,44)", edge(snap, tie, ds, "FORWARDED").path("color").asText().replace(" ", ""),
                            "the forwarded edge is green\n" + snap);
                    // the xwing's egress let its connections out, the deathstar's ingress dropped them: one outcome
                    assertNull(edge(snap, xwing, ds, "FORWARDED"), "no green edge for connections the deathstar dropped\n" + snap);

                    // the live flow table
                    awaitPage(browser, "flow rows for the xwing's drop and the tiefighter's landing", rowsJs(), rows ->
                            stream(rows).anyMatch(r -> r.asText().contains(xwing) && r.asText().contains(ds) && r.asText().contains("DROPPED"))
                                    && stream(rows).anyMatch(r -> r.asText().contains(tie) && r.asText().contains("FORWARDED")));

                    // the policies with their hits: rule1's one rule, with the packets it allowed
                    JsonNode policy = awaitPage(browser, "rule1 with a number of hits in the policy table",
                            "Array.from(document.querySelectorAll('#policies tbody tr')).map(r => r.innerText)",
                            rows -> stream(rows).anyMatch(r -> r.asText().contains("default/rule1") && r.asText().contains("ingress[0]")
                                    && r.asText().matches("(?s).*\\t[1-9][0-9]*\\s*$")));
                    browser.screenshot(SHOTS.resolve("webui-map.png"));

                    // why: the drop (ingress at the deathstar: rule1 selects it, no rule allows the xwing)
                    click(browser, "DROPPED", xwing, ds, "INGRESS");
                    String whyDrop = awaitWhy(browser, w -> w.contains("Dropped") && w.contains("no rule allows"));
                    assertTrue(whyDrop.contains("default/rule1 selects the destination"), "the trace names rule1\n" + whyDrop);
                    browser.screenshot(SHOTS.resolve("webui-why-drop.png"));

                    // why: the tiefighter's connection, decided by rule1's ingress rule
                    click(browser, "FORWARDED", tie, ds, "INGRESS");
                    awaitWhy(browser, w -> w.contains("Forwarded by default/rule1 ingress[0]"));

                    // why: the xwing's own egress, which no policy selects
                    click(browser, "FORWARDED", xwing, ds, "EGRESS");
                    String whyEgress = awaitWhy(browser, w -> w.contains("no rule selects this endpoint (default/" + xwing + ") for egress"));
                    browser.screenshot(SHOTS.resolve("webui-why-no-rule.png"));

                    // live: a new drop shows up without a reload
                    int before = browser.eval("window.septumUi.snapshot().flows").asInt();
                    assertTrue(!fleet.xwingGetsThrough(net), "the xwing is still dropped");
                    awaitPage(browser, "a new flow on the live stream", "window.septumUi.snapshot().flows", n -> n.asInt() > before);

                    // the filter bar: observe's filters narrow the table to the xwing's flows
                    browser.eval("(() => { const f = document.querySelector('#filters'); f.elements['from-endpoint'].value = '"
                            + xwing + "'; f.elements['verdict'].value = 'DROPPED'; f.requestSubmit(); return true; })()");
                    awaitPage(browser, "only the xwing's drops after filtering", rowsJs(), rows -> rows.size() > 0
                            && stream(rows).allMatch(r -> r.asText().split("\t")[1].contains(xwing) && r.asText().contains("DROPPED")));
                    JsonNode filtered = browser.eval("window.septumUi.snapshot()");
                    assertTrue(edge(filtered, tie, ds, "FORWARDED") == null, "the filter removed the tiefighter's edge\n" + filtered);
                    assertTrue(browser.eval("location.search").asText().contains("from-endpoint=" + xwing), "the filter is in the URL");
                    browser.screenshot(SHOTS.resolve("webui-filtered.png"));
                    assertTrue(whyEgress.contains("egress"), whyEgress);
                    assertTrue(policy.size() > 0);

                    workbench(browser, agent, fleet, net, url);
                } catch (AssertionError | RuntimeException e) {
                    reportFailure(browser, agent, "webui-failure.png");
                    throw e;
                }
            }
        } finally {
            TestFiles.deleteTree(home);
        }
    }

    /**
     * In cluster mode the workbench changes cluster policies where they live: rule1 applied to the cluster in audit
     * mode from the page, then promoted and rolled back with the same buttons as a local policy; each change is the
     * store's (the node's copy keeps its cluster origin, the history names the session "via cluster (etcd)"), and the
     * xwing's real connection follows it: through in audit mode, dropped once promoted, through again after the
     * rollback to the audit revision.
     */
    @Test
    void inClusterModeTheWorkbenchStagesPromotesAndRollsBackAClusterPolicy() throws Exception {
        Path septum = E2eSupport.septum();
        Path chromium = Chromium.require();
        int port = freePort();
        Path home = home(septum, port);
        try (E2eEtcd etcd = E2eEtcd.started()) {
            Files.writeString(home.resolve("etc/io.septum.cluster.cfg"), "etcdEndpoints=" + etcd.url()
                    + "\nallowInsecure=true\nclusterName=default\nnodeName=ui-node\nendpointCidrs=10.199.0.0/16\n");
            try (E2eSupport.Agent agent = E2eSupport.Agent.start(septum, home); E2eNet net = new E2eNet()) {
                assertTrue(E2eSupport.await(Duration.ofSeconds(60), () -> "ok".equals(clusterState(agent))),
                        "the agent joined the cluster: " + agent.cli("status").out());
                StarWarsFleet fleet = StarWarsFleet.deploy(septum, agent, net);
                String rule1 = Files.readString(septum.getParent().getParent().resolve("examples/sw_l3_l4_policy.yaml"));
                // rule1 leaves this node (a cluster policy cannot share its name with a local one)
                assertEquals(0, agent.cli("policy", "delete", "rule1").exit());
                assertTrue(E2eSupport.await(Duration.ofSeconds(15), () -> fleet.xwingGetsThrough(net)), "no rule1: open");
                try (Chromium browser = new Chromium(chromium, 1400, 1300)) {
                    String url = "http://127.0.0.1:" + port + "/";
                    try {
                        E2eSupport.Run login = agent.cli("ui", "login", "-o", "json");
                        browser.navigate(E2eSupport.JSON.readTree(login.out()).path("url").asText());
                        awaitPage(browser, "the signed-in session", "document.querySelector('#session').innerText",
                                n -> n.asText().contains("signed in as uid 0 (root)"));
                        awaitPage(browser, "the cluster scope offered", "!document.querySelector('#wb-cluster-scope').hidden",
                                JsonNode::asBoolean);
                        type(browser, rule1);
                        awaitPage(browser, "the draft valid", "document.querySelector('#wb-validation').innerText",
                                n -> n.asText().contains("valid: default/rule1"));
                        browser.eval("(() => { document.querySelector('#wb-cluster').checked = true;"
                                + " document.querySelector('#wb-apply-audit').click(); return true; })()");
                        awaitPage(browser, "stored in the cluster in audit mode", "document.querySelector('#wb-result').innerText",
                                n -> n.asText().contains("stored default/rule1 in the cluster's store in audit mode"));
                        assertTrue(E2eSupport.await(Duration.ofSeconds(15), () -> clusterCopy(agent).equals("audit")),
                                "this node imported the store's rule1 in audit mode");
                        long audited = agent.get("/v1/status").path("policyRevision").asLong();
                        // a connection that must pass: the allow timeout, and time for the audit copy to be in force
                        assertTrue(E2eSupport.await(Duration.ofSeconds(15), () -> net.tcp(fleet.xwing(), fleet.deathstar(), 80,
                                StarWarsFleet.ALLOW_TIMEOUT)), "audit mode drops nothing");

                        awaitPage(browser, "rule1 staged", policyRow(), n -> n.asText().contains("audit") && n.asText().contains("promote"));
                        browser.eval("document.querySelector('#policies tbody tr[data-policy=\"default/rule1\"] button[data-action=\"promote\"]').click()");
                        awaitPage(browser, "promoted", "document.querySelector('#wb-result').innerText",
                                n -> n.asText().contains("promoted default/rule1"));
                        assertEquals("enforce", clusterCopy(agent), "the store's rule1 enforces");
                        assertTrue(E2eSupport.await(Duration.ofSeconds(15), () -> !fleet.xwingGetsThrough(net)),
                                "the promoted cluster policy drops the xwing");
                        assertTrue(fleet.tiefighterLands(net));
                        awaitPage(browser, "the history names the session via the cluster",
                                "Array.from(document.querySelectorAll('#wb-history tbody tr')).map(r => r.innerText).join('\\n')",
                                n -> n.asText().contains("web UI (uid 0 (root)) via cluster (etcd)"));

                        browser.eval("document.querySelector('#wb-history tbody tr[data-policy=\"default/rule1\"][data-revision=\""
                                + audited + "\"] button').click()");
                        awaitPage(browser, "rolled back", "document.querySelector('#wb-result').innerText",
                                n -> n.asText().contains("rolled default/rule1 back to revision " + audited));
                        assertEquals("audit", clusterCopy(agent), "the store has the audit revision again");
                        assertTrue(E2eSupport.await(Duration.ofSeconds(15), () -> fleet.xwingGetsThrough(net)),
                                "through again after the rollback to audit mode");
                        browser.screenshot(SHOTS.resolve("webui-cluster-rolled-back.png"));
                    } catch (AssertionError | RuntimeException e) {
                        reportFailure(browser, agent, "webui-cluster-failure.png");
                        throw e;
                    }
                }
            }
        } finally {
            TestFiles.deleteTree(home);
        }
    }

    /** What a failed step leaves for its reader: a screenshot named {@code shot}, the page's console and the agent's log. */
    private static void reportFailure(Chromium browser, E2eSupport.Agent agent, String shot) throws IOException {
        browser.screenshot(SHOTS.resolve(shot));
        System.err.println("page console: " + browser.console());
        agent.printLog();
    }

    private static String clusterState(E2eSupport.Agent agent) {
        try {
            return agent.get("/v1/cluster").path("state").asText();
        } catch (IOException e) {
            return "";
        }
    }

    /** The mode of this node's rule1 ("audit" or "enforce") when it is the cluster's copy (origin cluster:...), else "". */
    private static String clusterCopy(E2eSupport.Agent agent) {
        try {
            JsonNode p = agent.get("/v1/policies/default/rule1");
            if (!p.path("origin").asText().startsWith("cluster:")) return "";
            return p.path("notes").toString().contains("audit mode (policy.septum.io/mode)") ? "audit" : "enforce";
        } catch (IOException e) {
            return "";
        }
    }

    /** rule1 as an operator edits the draft: the deathstar also admits the alliance on port 80. */
    private static final String RULE1_WITH_ALLIANCE = """
            apiVersion: "cilium.io/v2"
            kind: CiliumNetworkPolicy
            metadata:
              name: "rule1"
            spec:
              endpointSelector:
                matchLabels: {org: empire, class: deathstar}
              ingress:
              - fromEndpoints:
                - matchLabels: {org: empire}
                - matchLabels: {org: alliance}
                toPorts:
                - ports:
                  - {port: "80", protocol: TCP}
            """;

    /**
     * The policy workbench in the browser: refused without a session; signed in with the link of {@code septum ui
     * login}; a draft from the deathstar's flows; the operator's edit validated as typed (a bad port named by
     * document and field); the impact preview, whose counts are what {@code septum policy impact} says of the same
     * draft; applied in audit mode, promoted, the xwing's real connection now passes; rolled back from the history,
     * it is dropped again. The history names the session's author.
     */
    private static void workbench(Chromium browser, E2eSupport.Agent agent, StarWarsFleet fleet, E2eNet net, String url)
            throws Exception {
        String ds = fleet.deathstar().name();
        String xwing = fleet.xwing().name();
        java.net.http.HttpResponse<String> anonymous = java.net.http.HttpClient.newHttpClient().send(
                java.net.http.HttpRequest.newBuilder(java.net.URI.create(url + "api/policy/apply?mode=enforce"))
                        .timeout(Duration.ofSeconds(10)).POST(java.net.http.HttpRequest.BodyPublishers.ofString(RULE1_WITH_ALLIANCE)).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertEquals(401, anonymous.statusCode(), anonymous.body());
        assertTrue(!fleet.xwingGetsThrough(net), "a refused change changed nothing");
        awaitPage(browser, "view only before login", "document.body.dataset.session", n -> n.asText().equals("no"));
        assertTrue(browser.eval("document.querySelector('#wb-apply-enforce').disabled").asBoolean(), "no session: no apply button");

        E2eSupport.Run login = agent.cli("ui", "login", "-o", "json");
        assertEquals(0, login.exit(), login.toString());
        String link = E2eSupport.JSON.readTree(login.out()).path("url").asText();
        assertTrue(link.startsWith(url + "#login="), link);
        browser.navigate(link);
        awaitPage(browser, "the signed-in session", "document.querySelector('#session').innerText",
                n -> n.asText().contains("signed in as uid 0 (root)"));
        assertEquals("", browser.eval("location.hash").asText(), "the page took the token out of its address");
        java.net.http.HttpResponse<String> used = java.net.http.HttpClient.newHttpClient().send(
                java.net.http.HttpRequest.newBuilder(java.net.URI.create(url + "api/session/login")).timeout(Duration.ofSeconds(10))
                        .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"token\": \""
                                + link.substring(link.indexOf("#login=") + "#login=".length()) + "\"}")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertEquals(403, used.statusCode(), "the link worked once");

        // select the drop: the workbench's subject is the deathstar, whose ingress decided; draft from its flows
        click(browser, "DROPPED", xwing, ds, "INGRESS");
        awaitPage(browser, "the deathstar as the draft's subject", "document.querySelector('#wb-endpoint').value",
                n -> n.asText().equals("default/" + ds));
        browser.eval("document.querySelector('#wb-draft').click()");
        awaitPage(browser, "a draft from the deathstar's flows", "document.querySelector('#wb-yaml').value",
                n -> n.asText().contains("CiliumNetworkPolicy") && n.asText().contains("tiefighter") && !n.asText().contains("alliance"));

        // the operator's edit, validated as typed: first with a port out of range, then right
        type(browser, RULE1_WITH_ALLIANCE.replace("port: \"80\"", "port: \"99999\""));
        String bad = awaitPage(browser, "the validation error", "document.querySelector('#wb-validation').innerText",
                n -> n.asText().contains("document 1")).asText();
        assertTrue(bad.contains("spec.ingress[0].toPorts[0].ports[0].port"), bad);
        type(browser, RULE1_WITH_ALLIANCE);
        awaitPage(browser, "the draft valid", "document.querySelector('#wb-validation').innerText",
                n -> n.asText().contains("valid: default/rule1"));

        // the preview: the xwing's dropped connections become allowed; the same counts as the CLI's
        browser.eval("document.querySelector('#wb-preview').click()");
        JsonNode counts = awaitPage(browser, "the impact counts", "(() => { const c = (k) => document.querySelector('#wb-impact .' + k);"
                + " return c('newly-allowed') ? {dropped: +c('newly-dropped').dataset.count, allowed: +c('newly-allowed').dataset.count,"
                + " unchanged: +c('unchanged').dataset.count} : null; })()", n -> n.has("allowed"));
        Path draft = Files.createTempFile("sept-t-webui-draft-", ".yaml");
        try {
            Files.writeString(draft, RULE1_WITH_ALLIANCE);
            E2eSupport.Run cli = agent.cli("policy", "impact", draft.toString(), "--since", "1h", "-o", "json");
            JsonNode impact = E2eSupport.JSON.readTree(cli.out());
            assertEquals(impact.path("newly_allowed").asInt(), counts.path("allowed").asInt(), "UI and CLI agree\n" + cli + counts);
            assertEquals(impact.path("newly_dropped").asInt(), counts.path("dropped").asInt(), cli + "\n" + counts);
            assertEquals(impact.path("unchanged").asInt(), counts.path("unchanged").asInt(), cli + "\n" + counts);
        } finally {
            Files.deleteIfExists(draft);
        }
        assertTrue(counts.path("allowed").asInt() >= 1, "the xwing's connections are newly allowed: " + counts);
        assertEquals(0, counts.path("dropped").asInt(), counts.toString());
        String flowsShown = browser.eval("document.querySelector('#wb-impact-flows').innerText").asText();
        assertTrue(flowsShown.lines().anyMatch(l -> l.contains(xwing) && l.contains("newly-allowed")), flowsShown);
        browser.screenshot(SHOTS.resolve("webui-workbench-preview.png"));

        // apply in audit mode, then promote from the policy table
        browser.eval("document.querySelector('#wb-apply-audit').click()");
        awaitPage(browser, "applied in audit mode", "document.querySelector('#wb-result').innerText",
                n -> n.asText().contains("in audit mode"));
        awaitPage(browser, "rule1 staged", policyRow(), n -> n.asText().contains("audit") && n.asText().contains("promote"));
        browser.eval("document.querySelector('#policies tbody tr[data-policy=\"default/rule1\"] button[data-action=\"promote\"]').click()");
        awaitPage(browser, "rule1 promoted", policyRow(), n -> n.asText().contains("enforce") && n.asText().contains("stage"));
        assertTrue(E2eSupport.await(Duration.ofSeconds(15), () -> net.tcp(fleet.xwing(), fleet.deathstar(), 80, StarWarsFleet.ALLOW_TIMEOUT)),
                "the xwing's real connection passes under the promoted draft");
        assertTrue(fleet.tiefighterLands(net), "the tiefighter still lands");
        String passed = uiProbe(browser, xwing, ds, "connected");
        assertTrue(passed.contains("INGRESS") && passed.contains("FORWARDED") && passed.contains("default/rule1 ingress[0]"),
                "the probe's verdicts name the promoted rule\n" + passed);
        // an HTTP request and a ping from the same panel: rule1 opens TCP 80 only
        String landed = uiProbe(browser, fleet.tiefighter().name(), ds, "answered", "HTTP", "POST", "/v1/request-landing");
        assertTrue(landed.contains("FORWARDED"), "the HTTP probe's verdicts\n" + landed);
        String pinged = uiProbe(browser, xwing, ds, "timed-out", "ICMP", "GET", "/");
        assertTrue(pinged.contains("DROPPED"), "the ping's verdicts show its drop\n" + pinged);
        awaitPage(browser, "the history with the session's author",
                "Array.from(document.querySelectorAll('#wb-history tbody tr')).map(r => r.innerText).join('\\n')",
                n -> n.asText().contains("web UI (uid 0 (root))") && n.asText().contains("promote"));
        browser.screenshot(SHOTS.resolve("webui-workbench-promoted.png"));

        // roll back to rule1's first revision: the xwing is dropped again
        JsonNode clicked = browser.eval("(() => { const rows = Array.from(document.querySelectorAll('#wb-history tbody tr[data-policy=\"default/rule1\"]'));"
                + " const first = rows.reduce((a, r) => (!a || +r.dataset.revision < +a.dataset.revision) ? r : a, null);"
                + " if (!first) return null; first.querySelector('button').click(); return +first.dataset.revision; })()");
        assertTrue(clicked.isNumber(), "a history row for rule1: " + clicked);
        awaitPage(browser, "rolled back", "document.querySelector('#wb-result').innerText",
                n -> n.asText().contains("rolled default/rule1 back to revision " + clicked.asLong()));
        assertTrue(E2eSupport.await(Duration.ofSeconds(15), () -> !fleet.xwingGetsThrough(net)), "dropped again after the rollback");
        assertTrue(fleet.tiefighterLands(net));
        String dropped = uiProbe(browser, xwing, ds, "timed-out");
        assertTrue(dropped.contains("DROPPED"), "the probe's verdicts show the drop\n" + dropped);
        E2eSupport.Run history = agent.cli("policy", "history", "rule1");
        assertTrue(history.out().contains("rollback") && history.out().contains("web UI (uid 0 (root))"), history.toString());
        browser.screenshot(SHOTS.resolve("webui-workbench-rolled-back.png"));
    }

    /** Runs the workbench's probe from {@code from} to {@code to}:80 and answers its result and verdict table. */
    private static String uiProbe(Chromium browser, String from, String to, String result) {
        return uiProbe(browser, from, to, result, "TCP", "GET", "/");
    }

    /** The same as {@code protocol} (TCP, HTTP with {@code method} and {@code path}, or ICMP). */
    private static String uiProbe(Chromium browser, String from, String to, String result, String protocol,
                                  String method, String path) {
        browser.eval("(() => { document.querySelector('#wb-probe-from').value = 'default/" + from + "';"
                + " document.querySelector('#wb-probe-to').value = 'default/" + to + "';"
                + " const p = document.querySelector('#wb-probe-proto'); p.value = '" + protocol + "';"
                + " p.dispatchEvent(new Event('change'));"
                + " document.querySelector('#wb-probe-method').value = '" + method + "';"
                + " document.querySelector('#wb-probe-path').value = '" + path + "';"
                + " document.querySelector('#wb-probe-port').value = '80'; document.querySelector('#wb-probe').replaceChildren();"
                + " document.querySelector('#wb-probe-run').click(); return true; })()");
        awaitPage(browser, "the probe's result " + result, "document.querySelector('#wb-probe .probe-result').dataset.result",
                n -> n.asText().equals(result));
        return awaitPage(browser, "the probe's verdicts", "document.querySelector('#wb-probe-flows').innerText",
                n -> !n.asText().isBlank()).asText();
    }

    private static String policyRow() {
        return "document.querySelector('#policies tbody tr[data-policy=\"default/rule1\"]').innerText";
    }

    /** Replaces the draft as typing would (an input event), so the page validates it. */
    private static void type(Chromium browser, String text) throws IOException {
        browser.eval("(() => { const t = document.querySelector('#wb-yaml'); t.value = " + E2eSupport.JSON.writeValueAsString(text)
                + "; t.dispatchEvent(new Event('input')); return true; })()");
    }

    /** An install tree of its own: the distribution's bundles, its etc/ plus the UI enabled on {@code port}. */
    private static Path home(Path septum, int port) throws IOException {
        Path dist = septum.getParent().getParent();
        Path home = Files.createTempDirectory("sept-t-webui-home-");
        Files.createDirectories(home.resolve("deploy"));
        Files.createSymbolicLink(home.resolve("bundle"), dist.resolve("bundle"));
        Path etc = Files.createDirectories(home.resolve("etc"));
        try (Stream<Path> s = Files.walk(dist.resolve("etc"))) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path target = etc.resolve(dist.resolve("etc").relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(target);
                else Files.copy(p, target);
            }
        }
        Files.writeString(etc.resolve("io.septum.webui.cfg"), "enabled=true\nport=" + port + "\naddress=127.0.0.1\n");
        return home;
    }

    private static int freePort() throws IOException {
        return io.septum.testsupport.TestPorts.free(1)[0];
    }

    private static String rowsJs() {
        return "Array.from(document.querySelectorAll('#flows tbody tr')).map(r => r.innerText)";
    }

    /** Clicks the newest flow row with that verdict, source, destination and direction. */
    private static void click(Chromium browser, String verdict, String src, String dst, String direction) {
        String js = "(() => { const r = Array.from(document.querySelectorAll('#flows tbody tr[data-verdict=\"" + verdict + "\"]'))"
                + ".find(r => r.cells[1].innerText.includes('/" + src + ":') && r.cells[2].innerText.includes('/" + dst + ":')"
                + " && r.cells[5].innerText === '" + direction + "'); if (!r) return false; r.click(); return true; })()";
        JsonNode done = awaitPage(browser, "a " + verdict + " " + direction + " row " + src + " -> " + dst, js, JsonNode::asBoolean);
        assertTrue(done.asBoolean());
    }

    private static String awaitWhy(Chromium browser, Predicate<String> ok) {
        return awaitPage(browser, "the why panel", "document.querySelector('#why').innerText", n -> ok.test(n.asText())).asText();
    }

    /** Polls a page expression until {@code ok} holds; fails with the last value. */
    private static JsonNode awaitPage(Chromium browser, String what, String js, Predicate<JsonNode> ok) {
        AtomicReference<JsonNode> last = new AtomicReference<>();
        boolean done = E2eSupport.await(UI, () -> {
            JsonNode v = browser.eval("(() => { try { return " + js + "; } catch (e) { return null; } })()");
            last.set(v);
            return v != null && !v.isNull() && !v.isMissingNode() && ok.test(v);
        });
        assertTrue(done, "the page did not show " + what + " within " + UI.toSeconds() + " s; last: " + last.get());
        return last.get();
    }

    private static Stream<JsonNode> stream(JsonNode array) {
        return java.util.stream.StreamSupport.stream(array.spliterator(), false);
    }

    private static boolean hasNode(JsonNode snap, String name) {
        return node(snap, name) != null;
    }

    private static JsonNode node(JsonNode snap, String name) {
        return stream(snap.path("nodes")).filter(n -> name.equals(n.path("label").asText())
                && "endpoint".equals(n.path("kind").asText())).findFirst().orElse(null);
    }

    private static JsonNode edge(JsonNode snap, String src, String dst, String verdict) {
        return stream(snap.path("edges")).filter(e -> src.equals(e.path("source").asText())
                && dst.equals(e.path("target").asText()) && verdict.equals(e.path("verdict").asText())).findFirst().orElse(null);
    }
}
