package io.septum.policy.internal;

import io.septum.api.Labels;
import io.septum.api.NamedPort;
import io.septum.api.policy.Decision;
import io.septum.api.policy.Direction;
import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.HttpRequestInfo;
import io.septum.api.policy.Protocol;
import io.septum.api.policy.TraceResult;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * {@code policy trace}: walks a {@link PolicySetImpl}'s rules for one connection (and optionally one HTTP request)
 * and writes down, in Cilium's words, which policies select each side, which rules match and what decides. The
 * verdicts come from the set's own {@code decide}, so that a trace never disagrees with the datapath.
 */
final class PolicyTracer {
    private final PolicySetImpl set;

    PolicyTracer(PolicySetImpl set) {
        this.set = set;
    }

    TraceResult trace(Labels source, Labels destination, List<NamedPort> destinationPorts, int port, Protocol protocol,
                      EnforcementMode mode) {
        List<String> lines = new ArrayList<>();
        lines.add("----------------------------------------------------------------");
        lines.add("Tracing From: [" + source + "] => To: [" + destination + "] Ports: [" + port + "/" + protocol + "]");
        lines.add("Enforcement mode: " + mode);
        lines.add("");
        Decision egress = explain(Direction.EGRESS, source, destination, destinationPorts, port, protocol, mode, lines);
        lines.add("");
        Decision ingress = explain(Direction.INGRESS, destination, source, destinationPorts, port, protocol, mode, lines);
        lines.add("");
        return new TraceResult(source.asStrings(), destination.asStrings(), port, protocol.toString(), egress, ingress,
                egress.allowed() && ingress.allowed(), lines);
    }

    /** The connection's trace, then what the L7 proxies do with {@code request} (when it is not null). */
    TraceResult trace(Labels source, Labels destination, List<NamedPort> destinationPorts, int port, Protocol protocol,
                      EnforcementMode mode, HttpRequestInfo request) {
        TraceResult t = trace(source, destination, destinationPorts, port, protocol, mode);
        if (request == null || protocol != Protocol.TCP || !t.allowed()) {
            if (request != null && !t.allowed()) {
                List<String> lines = new ArrayList<>(t.explanation());
                lines.add("L7 " + request.method() + " " + request.path() + ": never sent, the connection is dropped at L3/L4");
                return new TraceResult(t.source(), t.destination(), port, t.protocol(), t.egress(), t.ingress(), false, lines);
            }
            return t;
        }
        List<String> lines = new ArrayList<>(t.explanation());
        String what = request.method() + " " + request.path() + (request.host() == null ? "" : " (Host " + request.host() + ")");
        // on the wire the client's egress proxy judges first; a request it denies never reaches the server
        Decision egress = t.egress();
        Decision ingress = t.ingress();
        HttpPolicyImpl out = set.http(Direction.EGRESS, source, destination, destinationPorts, port, mode);
        if (out != null) {
            egress = out.decide(request);
            lines.add("L7 egress " + what + ": " + (egress.allowed() ? "allowed by " : "denied: ") + egress.rule());
        }
        HttpPolicyImpl in = egress.allowed() ? set.http(Direction.INGRESS, destination, source, destinationPorts, port, mode) : null;
        if (in != null) {
            ingress = in.decide(request);
            lines.add("L7 ingress " + what + ": " + (ingress.allowed() ? "allowed by " : "denied: ") + ingress.rule());
        }
        if (out == null && in == null) lines.add("L7 " + what + ": no L7 rule governs port " + port + ", L3/L4 decides");
        boolean allowed = egress.allowed() && ingress.allowed();
        lines.add("Final verdict for " + what + ": " + (allowed ? "allowed" : "denied (HTTP 403 Access denied)"));
        return new TraceResult(t.source(), t.destination(), port, t.protocol(), egress, ingress, allowed, lines);
    }

    private Decision explain(Direction dir, Labels subject, Labels peer, List<NamedPort> destinationPorts, int port,
                             Protocol protocol, EnforcementMode mode, List<String> lines) {
        String dirName = PolicySetImpl.dirName(dir);
        String side = dir == Direction.EGRESS ? "source" : "destination";
        String other = dir == Direction.EGRESS ? "to" : "from";
        lines.add("Resolving " + dirName + " policy for [" + subject + "] (the " + side + ")");
        List<PolicySetImpl.Bound> sel = set.selecting(dir, subject);
        Set<String> names = new LinkedHashSet<>();
        for (PolicySetImpl.Bound b : sel) names.add(b.policy().kind() + " " + b.policy().qualifiedName());
        for (PolicySetImpl.Bound b : set.isolating(dir, subject)) {
            names.add(b.policy().kind() + " " + b.policy().qualifiedName() + " (isolates " + dirName + ", no rules)");
        }
        if (names.isEmpty()) {
            lines.add("* No policy selects the " + side + " for " + dirName);
        } else {
            for (String n : names) lines.add("* Policy " + n + " selects the " + side);
        }
        PolicySetImpl.Requirements requires = PolicySetImpl.requirements(sel);
        int matched = 0;
        for (PolicySetImpl.Bound b : sel) {
            CompiledRule r = b.rule();
            lines.add("    Rule " + b.display() + (r.deny() ? " (deny)" : "") + " [id " + b.ref().id() + "]: "
                    + r.subject());
            boolean pm = PolicySetImpl.peerMatches(r, peer, requires);
            lines.add("      " + (r.deny() ? "Denies " : "Allows ") + other + " " + describePeers(r) + ": "
                    + (pm ? "matches" : "no match"));
            if (!pm) continue;
            PortRule pr = r.portMatch(port, protocol, destinationPorts);
            lines.add("      Ports " + describePorts(r) + ": " + (pr == null ? "no match" : "matches "
                    + port + "/" + protocol + (!pr.l7() ? "" : pr.dnsRules()
                    ? " with L7 DNS rules: the DNS proxy judges each query"
                    : " with L7 HTTP rules: the L7 proxy judges each request")));
            if (pr != null) matched++;
        }
        if (!sel.isEmpty()) lines.add(matched + "/" + sel.size() + " rules matched");
        Decision d = set.decide(dir, subject, peer, destinationPorts, port, protocol, mode);
        boolean enforced = set.enforced(dir, subject, mode);
        lines.add(capitalize(dirName) + " " + (enforced ? "enforced" : "not enforced")
                + (set.auditDefault(dir, subject, mode) ? " (audit mode: its default deny passes as AUDIT)" : "")
                + "; deciding: " + d.rule());
        lines.add(capitalize(dirName) + " verdict: " + (d.allowed() ? "allowed" : "denied")
                + (d.l7() ? " at L3/L4, then L7" : ""));
        if (d.allowed() && protocol == Protocol.TCP) {
            HttpPolicyImpl h = set.http(dir, subject, peer, destinationPorts, port, mode);
            if (h != null) {
                lines.add("L7: the proxy admits a request that one of these HTTP rules matches:");
                for (String l : h.describe()) lines.add("    " + l);
            }
        }
        if (d.allowed() && protocol == Protocol.UDP) {
            DnsPolicyImpl dns = set.dns(dir, subject, peer, destinationPorts, port, mode);
            if (dns != null) {
                lines.add("DNS: the proxy answers a query whose name one of these rules matches (others get REFUSED):");
                for (String l : dns.describe()) lines.add("    " + l);
            }
        }
        return d;
    }

    private static String describePeers(CompiledRule r) {
        if (r.peers().isEmpty()) return "[] (nothing)";
        List<String> out = new ArrayList<>();
        for (Peer p : r.peers()) out.add(p.toString());
        if (!r.requires().isEmpty()) out.add("requires " + r.requires());
        return "[" + String.join("; ", out) + "]";
    }

    private static String describePorts(CompiledRule r) {
        List<String> out = new ArrayList<>();
        for (PortRule pr : r.ports()) for (PortSpec s : pr.ports()) out.add(s.toString());
        return "[" + String.join(", ", out) + "]";
    }

    private static String capitalize(String s) {
        return Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }
}
