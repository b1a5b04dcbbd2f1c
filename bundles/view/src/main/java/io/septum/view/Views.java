package io.septum.view;

import io.septum.api.AgentStatus;
import io.septum.api.ComponentStatus;
import io.septum.api.Endpoint;
import io.septum.api.Identity;
import io.septum.api.IpcacheEntry;
import io.septum.api.SourceHealth;
import io.septum.api.datapath.BpfEndpoint;
import io.septum.api.datapath.BpfPolicyEntry;
import io.septum.api.datapath.DatapathEvent;
import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowEndpoint;
import io.septum.api.flow.FlowHttp;
import io.septum.api.flow.FlowStats;
import io.septum.api.policy.PolicyInfo;
import io.septum.api.policy.RuleRef;
import io.septum.api.policy.TraceResult;
import io.septum.api.service.Service;
import io.septum.api.service.ServiceBackend;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/** The tables of every listing command. Pure functions of the model objects. */
public final class Views {
    private static final DateTimeFormatter EVENT_TIME =
            DateTimeFormatter.ofPattern("MMM dd HH:mm:ss.SSS", Locale.ROOT).withZone(ZoneId.systemDefault());

    private Views() {
    }

    public static Table endpoints(List<Endpoint> endpoints) {
        Table t = new Table("ENDPOINT", "NAME", "SOURCE", "POLICY (ingress)", "POLICY (egress)", "IDENTITY",
                "LABELS (source:key[=value])", "IPv4", "IPv6", "STATUS");
        endpoints.stream().sorted(Comparator.comparingLong(Endpoint::id)).forEach(e -> t.row(
                e.id(), e.qualifiedName(), e.source(),
                e.policyIngress() ? "Enabled" : "Disabled", e.policyEgress() ? "Enabled" : "Disabled",
                e.identity() == 0 ? "-" : e.identity(),
                String.join("\n", e.labels()),
                e.addresses().stream().filter(a -> !a.contains(":")).collect(Collectors.joining("\n")),
                e.addresses().stream().filter(a -> a.contains(":")).collect(Collectors.joining("\n")),
                e.state()));
        return t;
    }

    public static Table identities(List<Identity> identities) {
        Table t = new Table("ID", "LABELS");
        identities.stream().sorted(Comparator.comparingLong(Identity::id))
                .forEach(i -> t.row(i.id(), String.join("\n", i.labels())));
        return t;
    }

    public static Table policies(List<PolicyInfo> policies) {
        Table t = new Table("NAME", "NAMESPACE", "KIND", "REVISION", "RULES", "ORIGIN", "NOTES");
        policies.stream().sorted(Comparator.comparing(PolicyInfo::qualifiedName)).forEach(p -> t.row(
                p.name(), p.namespace() == null || p.namespace().isEmpty() ? "-" : p.namespace(), p.kind(),
                p.revision(), p.rules().size(), p.origin(), String.join("\n", p.notes())));
        return t;
    }

    public static Table rules(List<RuleRef> rules) {
        Table t = new Table("RULE ID", "RULE", "L7");
        rules.forEach(r -> t.row(r.id(), r.display(), r.hasL7() ? "yes (HTTP, via the L7 proxy)" : "-"));
        return t;
    }

    /** {@code policy list} with a HITS column: the packets the datapath counted for each policy's rules. */
    public static Table policies(List<PolicyInfo> policies, List<io.septum.api.policy.PolicyRuleHits> hits) {
        java.util.Map<String, Long> byPolicy = new java.util.HashMap<>();
        for (var h : hits) byPolicy.merge(h.rule().policy(), h.hits(), Long::sum);
        Table t = new Table("NAME", "NAMESPACE", "KIND", "REVISION", "RULES", "HITS", "ORIGIN", "NOTES");
        policies.stream().sorted(Comparator.comparing(PolicyInfo::qualifiedName)).forEach(p -> t.row(
                p.name(), p.namespace() == null || p.namespace().isEmpty() ? "-" : p.namespace(), p.kind(),
                p.revision(), p.rules().size(), byPolicy.getOrDefault(p.qualifiedName(), 0L), p.origin(),
                String.join("\n", p.notes())));
        return t;
    }

    /** {@code policy list --rules}: every rule of every policy with its hits (0: it never matched). */
    public static Table ruleHits(List<io.septum.api.policy.PolicyRuleHits> hits) {
        Table t = new Table("POLICY", "RULE ID", "RULE", "HITS");
        hits.forEach(h -> t.row(h.rule().policy(), h.rule().id(), h.rule().section() + "[" + h.rule().index() + "]",
                h.hits()));
        return t;
    }

    /** {@code fqdn cache list}: each name's addresses, with the TTL the cache holds them for and when they expire. */
    public static Table fqdnCache(List<io.septum.api.fqdn.FqdnEntry> entries) {
        Table t = new Table("ENDPOINT", "FQDN", "TTL", "EXPIRATION TIME", "IPS");
        entries.stream().sorted(Comparator.comparing(io.septum.api.fqdn.FqdnEntry::name)
                        .thenComparing(io.septum.api.fqdn.FqdnEntry::ip))
                .forEach(e -> t.row(e.endpointId(), e.name() + ".", e.ttl(),
                        DateTimeFormatter.ISO_INSTANT.format(Instant.ofEpochMilli(e.expires())), e.ip()));
        return t;
    }

    public static Table ipcache(List<IpcacheEntry> entries) {
        Table t = new Table("IP PREFIX/ADDRESS", "IDENTITY", "SOURCE");
        entries.stream().sorted(Comparator.comparing(IpcacheEntry::prefix))
                .forEach(e -> t.row(e.prefix(), e.identity(), e.source()));
        return t;
    }

    /**
     * {@code service list}, as the seed's {@code cilium service list} prints it: one backend per line,
     * {@code 1 => 10.0.0.1:80 (active)}.
     */
    public static Table services(List<Service> services) {
        Table t = new Table("ID", "Frontend", "Service Type", "Backend");
        services.stream().sorted(Comparator.comparingLong(Service::id)).forEach(s -> {
            StringBuilder b = new StringBuilder();
            int n = 0;
            for (ServiceBackend be : s.backends()) {
                if (n > 0) b.append('\n');
                String addr = be.ip() == null ? be.target() : (be.ip().contains(":") ? "[" + be.ip() + "]" : be.ip());
                b.append(++n).append(" => ").append(addr).append(':').append(be.port()).append(" (").append(be.state()).append(')');
            }
            t.row(s.id(), s.frontend(), s.type(), b.toString());
        });
        return t;
    }

    /** {@code septum policy list --cluster}: each cluster policy with the revision every node has realised. */
    public static Table clusterPolicies(List<io.septum.api.policy.ClusterPolicy> policies) {
        Table t = new Table("NAME", "KIND", "REVISION", "REALISED BY (node@revision)");
        for (io.septum.api.policy.ClusterPolicy p : policies) {
            StringBuilder b = new StringBuilder();
            p.realized().forEach((node, rev) -> b.append(b.length() == 0 ? "" : "\n").append(node).append('@').append(rev)
                    .append(rev < p.revision() ? " (behind)" : ""));
            t.row(p.qualifiedName(), p.kind(), p.revision(), b.length() == 0 ? "none yet" : b.toString());
        }
        return t;
    }

    /** {@code septum node list}: one node a row; a heartbeat is the age of the node's last lease renewal. */
    public static Table nodes(List<io.septum.api.ClusterNode> nodes) {
        Table t = new Table("NAME", "STATE", "HEARTBEAT", "ADDRESSES", "ENDPOINT CIDRS", "ENDPOINTS", "FLOWS", "VERSION",
                "STARTED");
        for (io.septum.api.ClusterNode n : nodes) {
            t.row(n.name() + (n.self() ? " (this node)" : ""), n.state(),
                    n.heartbeatAgeMillis() < 0 ? "unknown" : (n.heartbeatAgeMillis() / 1000) + "s ago",
                    String.join("\n", n.addresses()), String.join("\n", n.cidrs()), n.self() ? "-" : n.endpoints(),
                    n.peer() == null ? "-" : n.peer(), n.version(), java.time.Instant.ofEpochMilli(n.startTime()).toString());
        }
        return t;
    }

    /** {@code septum endpoint list --remote}: the other nodes' endpoints as this node's ipcache holds them. */
    public static Table remoteEndpoints(List<io.septum.api.RemoteEndpoint> remote) {
        Table t = new Table("ADDRESS", "IDENTITY", "NODE", "ENDPOINT", "SOURCE");
        for (io.septum.api.RemoteEndpoint r : remote) {
            String name = r.name() == null || r.name().isEmpty() ? "-"
                    : (r.namespace() == null || r.namespace().isEmpty() ? "" : r.namespace() + "/") + r.name();
            t.row(r.ip(), r.identity(), r.node(), name, r.source());
        }
        return t;
    }

    /** {@code septum cluster status}, in the style of {@code status}: one "Key: value" line each. */
    public static String clusterStatus(io.septum.api.ClusterStatus c) {
        if ("standalone".equals(c.mode())) return "Mode:               standalone\n" + "Message:            " + c.message() + "\n";
        StringBuilder b = new StringBuilder();
        b.append(String.format("Mode:               cluster %s, node %s%n", c.clusterName(), c.node()));
        b.append(String.format("State:              %s%n", c.state()));
        b.append(String.format("etcd:               %s %s%n", String.join(",", c.etcdEndpoints()),
                c.reachable() ? "reachable, version " + c.storeVersion() + ", leader " + c.leader() : "UNREACHABLE"));
        b.append(String.format("Lease:              %s%n", c.lease().isEmpty() ? "none" : c.lease()));
        b.append(String.format("Sync:               revision %d applied, store at %d, lag %d%n", c.syncRevision(),
                c.storeRevision(), c.syncLag()));
        b.append(String.format("Remote addresses:   %d%n", c.remoteEndpoints()));
        if (c.message() != null && !c.message().isEmpty()) b.append(String.format("Message:            %s%n", c.message()));
        return b.toString();
    }

    public static Table bpfEndpoints(List<BpfEndpoint> entries) {
        Table t = new Table("IFINDEX", "INTERFACE", "ENDPOINT", "IDENTITY", "FLAGS");
        entries.stream().sorted(Comparator.comparingLong(BpfEndpoint::endpointId)).forEach(e -> t.row(
                e.ifindex(), e.interfaceName(), e.endpointId(), e.identity(), flags(e.flags())));
        return t;
    }

    private static String flags(int f) {
        StringBuilder b = new StringBuilder(String.format("0x%04x", f));
        if ((f & BpfEndpoint.FLAG_INGRESS_ENFORCED) != 0) b.append(" ingress");
        if ((f & BpfEndpoint.FLAG_EGRESS_ENFORCED) != 0) b.append(" egress");
        if ((f & BpfEndpoint.FLAG_AUDIT) != 0) b.append(" audit");
        if ((f & BpfEndpoint.FLAG_HOST) != 0) b.append(" host");
        return b.toString();
    }

    public static Table bpfPolicy(List<BpfPolicyEntry> entries) {
        Table t = new Table("DIRECTION", "IDENTITY", "PROTOCOL", "PORTS", "ACTION", "RULE ID", "PACKETS");
        entries.forEach(e -> t.row(e.direction(), e.identity() == 0 ? "ANY" : e.identity(), e.protocol(),
                e.ports(), e.action(), e.ruleId(), e.packets()));
        return t;
    }

    public static Table sources(List<SourceHealth> sources) {
        Table t = new Table("SOURCE", "CONNECTED", "LAST SYNC", "ERROR");
        sources.stream().sorted(Comparator.comparing(SourceHealth::source)).forEach(s -> t.row(s.source(),
                s.connected() ? "yes" : "no", s.lastSync() == 0 ? "-" : Instant.ofEpochMilli(s.lastSync()),
                s.error() == null ? "-" : s.error()));
        return t;
    }

    /** {@code septum status}: key/value lines, then components. */
    public static String status(AgentStatus s) {
        StringBuilder b = new StringBuilder();
        b.append(String.format("%-20s%s%n", "Septum:", (s.ready() ? "Ok   " : "Not ready   ") + s.version()));
        b.append(String.format("%-20s%s%n", "Start to ready:", s.startToReadyMillis() < 0 ? "-" : s.startToReadyMillis() + " ms"));
        b.append(String.format("%-20s%d s%n", "Uptime:", s.uptimeMillis() / 1000));
        b.append(String.format("%-20s%s%n", "Policy enforcement:", s.enforcementMode()));
        b.append(String.format("%-20s%d%n", "Policy revision:", s.policyRevision()));
        b.append(String.format("%-20s%d%n", "Endpoints:", s.endpoints()));
        b.append(String.format("%-20s%d%n", "Identities:", s.identities()));
        for (ComponentStatus c : s.components()) {
            b.append(String.format("%-20s%s%s%n", c.name() + ":", c.state(), c.message() == null ? "" : "   " + c.message()));
        }
        for (SourceHealth h : s.sources()) {
            b.append(String.format("%-20s%s%s%n", "Source " + h.source() + ":", h.connected() ? "connected" : "disconnected",
                    h.error() == null ? "" : "   " + h.error()));
        }
        if (s.flows() != null) b.append(flowStats(s.flows()));
        return b.toString();
    }

    /** The observer's lines of {@code septum status}, as Hubble's {@code hubble status} words them. */
    public static String flowStats(FlowStats f) {
        StringBuilder b = new StringBuilder();
        double pct = f.maxFlows() <= 0 ? 0 : 100.0 * f.currentFlows() / f.maxFlows();
        b.append(String.format(Locale.ROOT, "%-20s%d/%d (%.2f%%)%n", "Current/Max Flows:", f.currentFlows(), f.maxFlows(), pct));
        b.append(String.format(Locale.ROOT, "%-20s%.2f%n", "Flows/s:", f.flowsPerSecond()));
        b.append(String.format(Locale.ROOT, "%-20s%d (datapath), %d (observer queue)%n", "Lost events:",
                f.lostEvents(), f.queueDropped()));
        if (f.diskMaxBytes() > 0 || f.diskError() != null) {
            b.append(String.format(Locale.ROOT, "%-20s%.1f/%.1f MiB%s%n", "Flow log:", f.diskBytes() / 1048576.0,
                    f.diskMaxBytes() / 1048576.0, f.diskError() == null ? "" : "   " + f.diskError()));
        }
        return b.toString();
    }

    /**
     * One flow, as Hubble's compact output prints it, e.g. {@code Aug 23 09:46:13.537: default/tiefighter:43256
     * (ID:31028) -> default/deathstar-1:80 (ID:16530) policy-verdict:L3-L4 INGRESS ALLOWED (TCP Flags: SYN)}.
     */
    public static String flow(Flow f) {
        StringBuilder b = new StringBuilder();
        b.append(EVENT_TIME.format(Instant.ofEpochSecond(0, f.timeNanos()))).append(": ");
        b.append(side(f.source(), f.ip() == null ? null : f.ip().source(), f.l4() == null ? 0 : f.l4().sourcePort()));
        b.append(f.isReply() ? " <- " : " -> ");
        b.append(side(f.destination(), f.ip() == null ? null : f.ip().destination(), f.l4() == null ? 0 : f.l4().destinationPort()));
        b.append(' ').append(summary(f));
        return b.toString();
    }

    /** One flow as {@link #flow(Flow)} prints it, with its node's name after the time ({@code observe --cluster}). */
    public static String flow(Flow f, boolean node) {
        String line = flow(f);
        if (!node) return line;
        int colon = line.indexOf(": ");
        return line.substring(0, colon) + " [" + (f.nodeName() == null ? "-" : f.nodeName()) + "]" + line.substring(colon);
    }

    private static String summary(Flow f) {
        StringBuilder b = new StringBuilder();
        String dir = f.trafficDirection() == null ? "" : f.trafficDirection() + " ";
        switch (f.eventType() == null ? "" : f.eventType()) {
            case Flow.TYPE_POLICY_VERDICT -> b.append("policy-verdict:")
                    .append(f.policyMatchType() == null ? Flow.MATCH_NONE : f.policyMatchType()).append(' ').append(dir)
                    .append(policyVerdict(f.verdict()));
            case Flow.TYPE_DROP -> b.append("drop (").append(f.dropReasonText() == null ? "Policy denied" : f.dropReasonText())
                    .append(") ").append(dir).append(f.verdict());
            case Flow.TYPE_L7 -> {
                if (f.l7() != null && f.l7().dns() != null) return dnsSummary(f);
                FlowHttp h = f.l7() == null ? null : f.l7().http();
                boolean response = f.l7() != null && "RESPONSE".equals(f.l7().type());
                b.append(response ? "http-response " : "http-request ").append(f.verdict());
                if (h != null) {
                    b.append(" (").append(h.protocol() == null ? "HTTP/1.1" : h.protocol()).append(' ');
                    if (response) {
                        b.append(h.code()).append(' ').append(f.l7().latencyNs() / 1_000_000).append("ms (")
                                .append(h.method()).append(' ').append(h.url()).append("))");
                    } else {
                        b.append(h.method()).append(' ').append(h.url()).append(')');
                    }
                }
                return b.toString();
            }
            default -> b.append(f.eventType()).append(' ').append(dir).append(f.verdict());
        }
        if (f.l4() != null && "TCP".equals(f.l4().protocol())) {
            if (!f.l4().flags().isEmpty()) b.append(" (TCP Flags: ").append(String.join(", ", f.l4().flags())).append(')');
        } else if (f.l4() != null && f.l4().protocol() != null) {
            b.append(" (").append(f.l4().protocol()).append(')');
        }
        return b.toString();
    }

    /**
     * A DNS flow as Hubble prints it: {@code dns-request proxy FORWARDED (DNS Query api.example.com. A)} and
     * {@code dns-response proxy FORWARDED (DNS Answer "10.0.0.1" TTL: 300 (Proxy api.example.com. A))}; a refused
     * query's answer says {@code RCode: Refused}.
     */
    private static String dnsSummary(Flow f) {
        io.septum.api.flow.FlowDns d = f.l7().dns();
        boolean response = "RESPONSE".equals(f.l7().type());
        String q = d.query() + " " + String.join(",", d.qtypes());
        if (!response) return "dns-request proxy " + f.verdict() + " (DNS Query " + q + ")";
        String answer = d.rcode() != 0 ? "RCode: " + rcodeName(d.rcode())
                : "\"" + String.join(",", d.ips()) + "\" TTL: " + d.ttl();
        return "dns-response proxy " + f.verdict() + " (DNS Answer " + answer + " (Proxy " + q + "))";
    }

    private static String rcodeName(int rcode) {
        return switch (rcode) {
            case 1 -> "Format Error";
            case 2 -> "Server Failure";
            case 3 -> "Non-Existent Domain";
            case 5 -> "Refused";
            default -> String.valueOf(rcode);
        };
    }

    private static String policyVerdict(String verdict) {
        if (Flow.FORWARDED.equals(verdict)) return "ALLOWED";
        if (Flow.DROPPED.equals(verdict)) return "DENIED";
        if (Flow.AUDIT.equals(verdict)) return "AUDITED";
        return verdict;
    }

    private static String side(FlowEndpoint e, String ip, int port) {
        String name = e == null ? null : e.qualifiedName();
        String host = name != null ? name : ip == null ? "?" : ip.contains(":") ? "[" + ip + "]" : ip;
        StringBuilder b = new StringBuilder(host);
        if (port > 0) b.append(':').append(port);
        if (e != null) b.append(" (ID:").append(e.identity()).append(')');
        return b.toString();
    }

    /** {@code observe -o table}: one row per flow, with the rule that decided. */
    public static Table flows(List<Flow> flows) {
        return flows(flows, false);
    }

    /** {@code observe -o table}, with the observing node first when {@code nodes} ({@code observe --cluster}). */
    public static Table flows(List<Flow> flows, boolean nodes) {
        List<String> head = new java.util.ArrayList<>(List.of("TIMESTAMP", "SOURCE", "DESTINATION", "TYPE", "VERDICT", "SUMMARY", "RULE"));
        if (nodes) head.add(0, "NODE");
        Table t = new Table(head.toArray(new String[0]));
        for (Flow f : flows) {
            String src = side(f.source(), f.ip() == null ? null : f.ip().source(), f.l4() == null ? 0 : f.l4().sourcePort());
            String dst = side(f.destination(), f.ip() == null ? null : f.ip().destination(), f.l4() == null ? 0 : f.l4().destinationPort());
            String type = Flow.TYPE_POLICY_VERDICT.equals(f.eventType())
                    ? f.eventType() + ":" + (f.policyMatchType() == null ? Flow.MATCH_NONE : f.policyMatchType()) : f.eventType();
            StringBuilder sum = new StringBuilder(f.trafficDirection() == null ? "" : f.trafficDirection());
            if (f.dropReasonText() != null) sum.append(' ').append(f.dropReasonText());
            if (f.l4() != null && f.l4().protocol() != null) {
                sum.append(' ').append(f.l4().protocol());
                if (!f.l4().flags().isEmpty()) sum.append(" Flags: ").append(String.join(", ", f.l4().flags()));
            }
            List<String> row = new java.util.ArrayList<>(List.of(EVENT_TIME.format(Instant.ofEpochSecond(0, f.timeNanos())),
                    src, dst, type, String.valueOf(f.verdict()), sum.toString().strip(), f.rule() == null ? "-" : f.rule()));
            if (nodes) row.add(0, f.nodeName() == null ? "-" : f.nodeName());
            t.row(row.toArray(new String[0]));
        }
        return t;
    }

    /** {@code observe --cluster}'s compact line for a node that cannot be read (or is read again). */
    public static String nodeStatus(io.septum.api.flow.FlowNodeStatus s) {
        String when = s.time() == null ? "" : EVENT_TIME.format(Instant.parse(s.time())) + " ";
        return when + "[" + s.nodeName() + "]: node " + s.state() + (s.message() == null ? "" : ": " + s.message());
    }

    /** {@code policy eval} and {@code connectivity test}: one row per probe. */
    public static Table probes(io.septum.api.policy.CaseResult r) {
        Table t = new Table("FROM", "TO", "PORT", "EXPECT", "VERDICT", "RULE", "RESULT");
        r.results().forEach(p -> t.row(p.from(), p.to(), p.port() + "/" + p.protocol(), p.expect(), p.verdict(),
                p.rule() + (p.note() == null || p.note().isEmpty() ? "" : " (" + p.note() + ")"),
                p.pass() ? "PASS" : "FAIL"));
        return t;
    }

    /** {@code endpoint get}: every field, one per line; labels, addresses and external ids one per line. */
    public static String endpoint(Endpoint e) {
        StringBuilder b = new StringBuilder();
        field(b, "ID:", String.valueOf(e.id()));
        field(b, "Name:", e.qualifiedName());
        field(b, "Source:", e.source());
        field(b, "State:", String.valueOf(e.state()));
        if (e.message() != null && !e.message().isEmpty()) field(b, "Message:", e.message());
        field(b, "Identity:", e.identity() == 0 ? "-" : String.valueOf(e.identity()));
        field(b, "Policy (ingress):", e.policyIngress() ? "Enabled" : "Disabled");
        field(b, "Policy (egress):", e.policyEgress() ? "Enabled" : "Disabled");
        field(b, "Policy revision:", String.valueOf(e.policyRevision()));
        field(b, "Audit mode:", e.audit() ? "on (would-be drops pass, reported as AUDIT)" : "off");
        field(b, "Interface:", e.interfaceName() == null ? "-" : e.interfaceName() + " (ifindex " + e.ifindex() + ")");
        field(b, "Netns:", e.netns() == null ? "-" : e.netns());
        lines(b, "Addresses:", e.addresses());
        lines(b, "Labels:", e.labels());
        // named ports only where there are some: endpoints of sources without them print as before
        if (!e.namedPorts().isEmpty()) lines(b, "Named ports:", e.namedPorts().stream().map(Object::toString).toList());
        lines(b, "External ids:", e.externalIds().entrySet().stream().sorted(java.util.Map.Entry.comparingByKey())
                .map(x -> x.getKey() + "=" + x.getValue()).collect(Collectors.toList()));
        return b.toString();
    }

    /** {@code policy get}: the policy's fields, its rules with their ids, its notes and the document as written. */
    public static String policy(PolicyInfo p) {
        return policy(p, null);
    }

    /** {@code policy get} with each rule's hits ({@code hits} null: without them). */
    public static String policy(PolicyInfo p, List<io.septum.api.policy.PolicyRuleHits> hits) {
        StringBuilder b = new StringBuilder();
        field(b, "Name:", p.name());
        field(b, "Namespace:", p.namespace() == null || p.namespace().isEmpty() ? "- (cluster-wide)" : p.namespace());
        field(b, "Kind:", p.kind());
        field(b, "Revision:", String.valueOf(p.revision()));
        field(b, "Origin:", p.origin());
        lines(b, "Notes:", p.notes());
        if (hits == null) {
            b.append('\n').append(rules(p.rules()).render());
        } else {
            java.util.Map<Integer, Long> byRule = new java.util.HashMap<>();
            for (var h : hits) byRule.put(h.rule().id(), h.hits());
            Table t = new Table("RULE ID", "RULE", "L7", "HITS");
            p.rules().forEach(r -> t.row(r.id(), r.display(), r.hasL7() ? "yes (HTTP, via the L7 proxy)" : "-",
                    byRule.getOrDefault(r.id(), 0L)));
            b.append('\n').append(t.render());
        }
        if (p.document() != null && !p.document().isBlank()) {
            b.append('\n').append("Document:\n");
            for (String line : p.document().strip().split("\n", -1)) b.append("  ").append(line).append('\n');
        }
        return b.toString();
    }

    /** {@code namespace list}: each namespace with its labels, one per line. */
    public static Table namespaces(java.util.Map<String, java.util.Map<String, String>> namespaces) {
        Table t = new Table("NAMESPACE", "LABELS");
        namespaces.entrySet().stream().sorted(java.util.Map.Entry.comparingByKey()).forEach(n -> t.row(n.getKey(),
                n.getValue().entrySet().stream().sorted(java.util.Map.Entry.comparingByKey())
                        .map(l -> l.getKey() + "=" + l.getValue()).collect(Collectors.joining("\n"))));
        return t;
    }

    private static void field(StringBuilder b, String name, String value) {
        b.append(String.format("%-20s%s%n", name, value == null ? "-" : value));
    }

    private static void lines(StringBuilder b, String name, List<String> values) {
        if (values.isEmpty()) {
            field(b, name, "-");
            return;
        }
        for (int i = 0; i < values.size(); i++) field(b, i == 0 ? name : "", values.get(i));
    }

    /** {@code policy trace}. */
    public static String trace(TraceResult r) {
        StringBuilder b = new StringBuilder();
        for (String line : r.explanation()) b.append(line).append('\n');
        b.append("Final verdict: ").append(r.allowed() ? "ALLOWED" : "DENIED").append('\n');
        return b.toString();
    }

    /**
     * {@code policy impact}: the counts, then one row per distinct connection whose outcome changes (all of them
     * with {@code all}), each with the rule that decides it before and after.
     */
    public static String impact(io.septum.api.flow.ImpactReport r, boolean all) {
        StringBuilder b = new StringBuilder();
        b.append("Flows read: ").append(r.flowsRead()).append(r.since() == null ? " (every flow held)" : " since " + r.since())
                .append(r.limitReached() ? " (limit reached: only the newest were read)" : "").append('\n');
        b.append("Distinct connections: ").append(r.flows().size()).append(": newly dropped ").append(r.newlyDropped())
                .append(", newly allowed ").append(r.newlyAllowed()).append(", unchanged ").append(r.unchanged()).append('\n');
        b.append("Endpoints the draft selects: ").append(r.endpoints().isEmpty() ? "none" : String.join(", ", r.endpoints()))
                .append('\n');
        Table t = new Table("CHANGE", "SOURCE", "DESTINATION", "PORT", "HTTP", "FLOWS", "BEFORE", "AFTER", "DECIDED BY (after)");
        for (io.septum.api.flow.ImpactReport.ImpactFlow f : r.flows()) {
            if (!all && f.change().equals(io.septum.api.flow.ImpactReport.UNCHANGED)) continue;
            t.row(f.change(), f.source(), f.destination(), f.port() + "/" + f.protocol(),
                    f.method() == null ? "" : f.method() + " " + f.path(), f.count(), f.before(), f.after(),
                    f.afterRule() == null ? "" : f.afterRule());
        }
        if (t.size() > 0) b.append('\n').append(t.render());
        return b.toString();
    }

    /** {@code policy history}: one row per change, newest first; with {@code diff}, each change's lines below it. */
    public static String policyHistory(List<io.septum.api.policy.PolicyRevision> revisions, boolean diff) {
        if (!diff) {
            Table t = new Table("REVISION", "TIME", "AUTHOR", "ACTION", "CHANGE", "POLICY", "KIND", "NOTE");
            for (io.septum.api.policy.PolicyRevision r : revisions) {
                t.row(r.revision(), r.time(), r.author(), r.action(), r.change(), r.policy(), r.kind(),
                        r.note() == null ? "" : r.note());
            }
            return t.render();
        }
        StringBuilder b = new StringBuilder();
        for (io.septum.api.policy.PolicyRevision r : revisions) {
            b.append("revision ").append(r.revision()).append("  ").append(r.time()).append("  ").append(r.author())
                    .append("  ").append(r.action()).append(' ').append(r.change()).append("  ").append(r.kind())
                    .append(' ').append(r.policy()).append(r.note() == null ? "" : "  (" + r.note() + ")").append('\n');
            for (String line : r.diff()) b.append("  ").append(line).append('\n');
        }
        return b.toString();
    }

    /** {@code policy diff}: each policy of the draft, the changed documents' lines, the endpoints that change. */
    public static String policyDiff(io.septum.api.flow.PolicyDiff d) {
        StringBuilder b = new StringBuilder();
        for (io.septum.api.flow.PolicyDiff.PolicyChange c : d.policies()) {
            b.append(c.change()).append(": ").append(c.kind()).append(' ').append(c.policy()).append('\n');
            for (String line : c.diff()) b.append("  ").append(line).append('\n');
        }
        if (d.endpoints().isEmpty()) {
            b.append("No live endpoint's policy changes.\n");
            return b.toString();
        }
        Table t = new Table("ENDPOINT", "INGRESS ENFORCED", "EGRESS ENFORCED", "ENTRIES ADDED", "ENTRIES REMOVED");
        for (io.septum.api.flow.PolicyDiff.EndpointChange e : d.endpoints()) {
            t.row(e.endpoint(), e.ingressEnforced(), e.egressEnforced(), e.entriesAdded(), e.entriesRemoved());
        }
        return b.append('\n').append(t.render()).toString();
    }

    /** One line per event, shaped like {@code cilium monitor} / Hubble compact output. */
    public static String event(DatapathEvent e) {
        String src = e.srcIp() + (e.srcPort() > 0 ? ":" + e.srcPort() : "");
        String dst = e.dstIp() + (e.dstPort() > 0 ? ":" + e.dstPort() : "");
        StringBuilder b = new StringBuilder();
        b.append(EVENT_TIME.format(Instant.ofEpochSecond(0, e.timestampNanos()))).append(": ");
        b.append(src).append(" (ID:").append(e.srcIdentity()).append(") -> ")
                .append(dst).append(" (ID:").append(e.dstIdentity()).append(") ");
        b.append(e.type()).append(' ').append(e.direction()).append(' ').append(e.verdict());
        if ("DROPPED".equals(e.verdict())) b.append(" (").append(e.dropReasonText()).append(')');
        b.append(" ep=").append(e.endpointId()).append(' ').append(e.protocol());
        if (e.tcpFlags() != 0) b.append(" (TCP Flags: ").append(tcpFlags(e.tcpFlags())).append(')');
        if (e.ruleId() != 0) b.append(" rule=").append(e.ruleId());
        return b.toString();
    }

    static String tcpFlags(int f) {
        StringBuilder b = new StringBuilder();
        String[] names = {"FIN", "SYN", "RST", "PSH", "ACK", "URG"};
        for (int i = 0; i < names.length; i++) {
            if ((f & (1 << i)) != 0) {
                if (b.length() > 0) b.append(", ");
                b.append(names[i]);
            }
        }
        return b.toString();
    }
}
