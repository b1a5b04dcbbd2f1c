package io.septum.api.view;

import io.septum.api.AgentStatus;
import io.septum.api.ComponentStatus;
import io.septum.api.Endpoint;
import io.septum.api.Identity;
import io.septum.api.IpcacheEntry;
import io.septum.api.SourceHealth;
import io.septum.api.datapath.BpfEndpoint;
import io.septum.api.datapath.BpfPolicyEntry;
import io.septum.api.datapath.DatapathEvent;
import io.septum.api.policy.PolicyInfo;
import io.septum.api.policy.RuleRef;
import io.septum.api.policy.TraceResult;
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
        rules.forEach(r -> t.row(r.id(), r.display(), r.hasL7() ? "yes (not enforced yet)" : "-"));
        return t;
    }

    public static Table ipcache(List<IpcacheEntry> entries) {
        Table t = new Table("IP PREFIX/ADDRESS", "IDENTITY", "SOURCE");
        entries.stream().sorted(Comparator.comparing(IpcacheEntry::prefix))
                .forEach(e -> t.row(e.prefix(), e.identity(), e.source()));
        return t;
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
        return b.toString();
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
        field(b, "Interface:", e.interfaceName() == null ? "-" : e.interfaceName() + " (ifindex " + e.ifindex() + ")");
        field(b, "Netns:", e.netns() == null ? "-" : e.netns());
        lines(b, "Addresses:", e.addresses());
        lines(b, "Labels:", e.labels());
        lines(b, "External ids:", e.externalIds().entrySet().stream().sorted(java.util.Map.Entry.comparingByKey())
                .map(x -> x.getKey() + "=" + x.getValue()).collect(Collectors.toList()));
        return b.toString();
    }

    /** {@code policy get}: the policy's fields, its rules with their ids, its notes and the document as written. */
    public static String policy(PolicyInfo p) {
        StringBuilder b = new StringBuilder();
        field(b, "Name:", p.name());
        field(b, "Namespace:", p.namespace() == null || p.namespace().isEmpty() ? "- (cluster-wide)" : p.namespace());
        field(b, "Kind:", p.kind());
        field(b, "Revision:", String.valueOf(p.revision()));
        field(b, "Origin:", p.origin());
        lines(b, "Notes:", p.notes());
        b.append('\n').append(rules(p.rules()).render());
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
