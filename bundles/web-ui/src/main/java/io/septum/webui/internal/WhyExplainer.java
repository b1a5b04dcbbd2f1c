package io.septum.webui.internal;

import io.septum.api.Label;
import io.septum.api.Labels;
import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowEndpoint;
import io.septum.api.policy.Decision;
import io.septum.api.policy.PolicyRepository;
import io.septum.api.policy.PolicySet;
import io.septum.api.policy.Protocol;
import io.septum.api.policy.TraceResult;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Explains a flow: the rule the datapath named when it decided (the flow carries it), and a {@code policy trace}
 * between the flow's two sides with the current policy, which says which policies select each side and why no rule
 * decided when none did.
 */
final class WhyExplainer {
    private WhyExplainer() {
    }

    static Why explain(Flow f, PolicyRepository repo) {
        if (f == null) throw new UiException(400, "the body must be a flow, as /api/flows lists them");
        String direction = f.trafficDirection() == null ? "INGRESS" : f.trafficDirection().toUpperCase(Locale.ROOT);
        boolean ingress = !direction.equals("EGRESS");
        FlowEndpoint subjectSide = ingress ? f.destination() : f.source();
        String subject = name(subjectSide, ingress ? f.ip() == null ? null : f.ip().destination()
                : f.ip() == null ? null : f.ip().source());
        String verdict = f.verdict() == null ? "?" : f.verdict();

        PolicySet current = repo.current();
        TraceResult trace = null;
        String traceError = null;
        try {
            trace = current.trace(labels(f.source(), f.ip() == null ? null : f.ip().source()),
                    labels(f.destination(), f.ip() == null ? null : f.ip().destination()),
                    f.l4() == null ? 0 : f.l4().destinationPort(), protocol(f), repo.mode());
        } catch (RuntimeException e) {
            traceError = e.getMessage() == null ? e.toString() : e.getMessage();
        }

        String decidedBy;
        String rule = f.rule();
        int ruleId = f.ruleId();
        String policy = f.policy();
        boolean exists = false;
        String summary;
        String dir = direction.toLowerCase(Locale.ROOT);
        if (ruleId != 0) {
            decidedBy = "rule";
            exists = current.rule(ruleId).isPresent();
            String shown = rule != null ? rule : "rule " + ruleId;
            summary = word(verdict) + " by " + shown + " (" + dir + " policy of " + subject + ")"
                    + (exists ? "" : "; that rule is no longer in the current policy");
        } else if (rule != null && !rule.isBlank() && !f.isReply()) {
            decidedBy = "default";
            summary = word(verdict) + ": " + defaultText(rule, subject, dir);
        } else {
            // replies and trace events name no decision: the trace with today's policy is the best answer
            decidedBy = "trace";
            Decision d = trace == null ? null : ingress ? trace.ingress() : trace.egress();
            if (d == null) {
                summary = word(verdict) + ": the flow names no deciding rule" + (f.isReply() ? " (a reply of an allowed connection)" : "");
            } else {
                rule = d.rule();
                ruleId = d.ruleId();
                exists = ruleId != 0;
                summary = word(verdict) + (f.isReply() ? " (a reply of a tracked connection)" : "") + "; the current policy: "
                        + (ruleId != 0 ? (d.allowed() ? "allowed by " : "denied by ") + d.rule() : defaultText(d.rule(), subject, dir));
            }
        }
        return new Why(verdict, summary, decidedBy, rule, ruleId, policy, exists, subject, direction, trace, traceError,
                repo.revision());
    }

    /** The sentence for a decision that no rule made, said about the endpoint whose policy applies. */
    private static String defaultText(String rule, String subject, String dir) {
        String r = rule.toLowerCase(Locale.ROOT);
        if (r.startsWith("no rule selects")) {
            return "no rule selects this endpoint (" + subject + ") for " + dir + ", so " + dir + " is not enforced (default allow)";
        }
        if (r.startsWith("default deny")) {
            return "policy selects " + subject + " for " + dir + " but no rule allows this peer and port (default deny)";
        }
        return rule;
    }

    private static String word(String verdict) {
        return switch (verdict) {
            case Flow.FORWARDED -> "Forwarded";
            case Flow.DROPPED -> "Dropped";
            case Flow.AUDIT -> "Audit (would be dropped)";
            case Flow.REDIRECTED -> "Redirected to the proxy";
            default -> verdict;
        };
    }

    private static String name(FlowEndpoint e, String ip) {
        if (e != null && e.qualifiedName() != null) return e.qualifiedName();
        if (e != null && e.identity() != 0) return "identity " + e.identity() + (ip == null ? "" : " (" + ip + ")");
        return ip == null ? "?" : ip;
    }

    /** A side's labels for the trace; a side without labels (outside the host's endpoints) is world at its address. */
    static Labels labels(FlowEndpoint e, String ip) {
        List<String> texts = new ArrayList<>(e == null ? List.of() : e.labels());
        if (texts.isEmpty()) {
            texts.add(Label.RESERVED + ":world");
            if (ip != null && !ip.isBlank()) texts.add(Label.CIDR + ":" + ip + (ip.contains(":") ? "/128" : "/32"));
        }
        return Labels.forTrace(texts);
    }

    private static Protocol protocol(Flow f) {
        String p = f.l4() == null || f.l4().protocol() == null ? "TCP" : f.l4().protocol().toUpperCase(Locale.ROOT);
        if (p.equals("ICMPV4")) p = "ICMP";
        return Protocol.parse(p);
    }
}
