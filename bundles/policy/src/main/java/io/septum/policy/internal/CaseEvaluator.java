package io.septum.policy.internal;

import io.septum.api.Label;
import io.septum.api.Labels;
import io.septum.api.policy.CaseResult;
import io.septum.api.policy.Decision;
import io.septum.api.policy.Direction;
import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.PolicySet;
import io.septum.api.policy.ProbeResult;
import io.septum.api.policy.Protocol;
import io.septum.api.policy.TestCase;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Judges a case's probes offline: egress at the source and ingress at the destination must both allow. */
final class CaseEvaluator {
    static final String L7_NOTE = "L7 judged at L3/L4 (not enforced yet)";

    /** A probe's party: an endpoint (with policy of its own) or an external host (world, no policy). */
    record Party(String name, Labels labels, boolean managed) {
    }

    /** Resolves probe names: {@code ns/name}, or a bare name when it is unique. */
    static final class Names {
        private final TestCase tc;

        Names(TestCase tc) {
            this.tc = tc;
        }

        String problem(String ref) {
            if (ref == null) return "missing name";
            List<Object> found = find(ref);
            if (found.isEmpty()) return "no endpoint or external host named \"" + ref + "\"";
            if (found.size() > 1) return "\"" + ref + "\" names several endpoints: write namespace/name";
            return null;
        }

        List<Object> find(String ref) {
            List<Object> out = new ArrayList<>();
            for (TestCase.Endpoint e : tc.endpoints()) {
                if (e.qualifiedName().equals(ref) || (!ref.contains("/") && e.name().equals(ref))) out.add(e);
            }
            for (TestCase.External x : tc.external()) if (ref.equals(x.name())) out.add(x);
            return out;
        }

        Party party(String ref) {
            List<Object> found = find(ref);
            if (found.size() != 1) throw new IllegalArgumentException(problem(ref));
            Object o = found.get(0);
            if (o instanceof TestCase.Endpoint e) {
                return new Party(e.qualifiedName(), endpointLabels(e, tc.namespaces()), true);
            }
            TestCase.External x = (TestCase.External) o;
            return new Party(x.name(), externalLabels(x.ip()), false);
        }
    }

    /** An endpoint's labels as the agent sets them: its own (source k8s), the namespace label, namespace labels. */
    static Labels endpointLabels(TestCase.Endpoint e, Map<String, Map<String, String>> namespaces) {
        List<Label> out = new ArrayList<>();
        e.labels().forEach((k, v) -> {
            // the agent owns these keys: a workload's own label cannot move it to another namespace (CVE-2023-39347)
            if (!k.equals(Labels.NAMESPACE_KEY) && !k.startsWith(Labels.NAMESPACE_LABELS_PREFIX)) {
                out.add(new Label(Label.K8S, k, v));
            }
        });
        out.add(new Label(Label.K8S, Labels.NAMESPACE_KEY, e.namespace()));
        namespaces.getOrDefault(e.namespace(), Map.of())
                .forEach((k, v) -> out.add(new Label(Label.K8S, Labels.NAMESPACE_LABELS_PREFIX + k, v)));
        return Labels.of(out);
    }

    /** A host outside the cluster: its /32 (or /128) CIDR identity, which belongs to the world. */
    static Labels externalLabels(String ip) {
        Cidr host = Cidr.parse(ip);
        return Labels.of(new Label(Label.CIDR, host.toString(), ""), Label.reserved("world"));
    }

    private final TestCase tc;
    private final PolicySet set;
    private final EnforcementMode mode;

    CaseEvaluator(TestCase tc, PolicySet set, EnforcementMode mode) {
        this.tc = tc;
        this.set = set;
        this.mode = mode;
    }

    CaseResult run() {
        Names names = new Names(tc);
        List<ProbeResult> results = new ArrayList<>();
        for (TestCase.Probe p : tc.probes()) {
            Party from = names.party(p.from());
            Party to = names.party(p.to());
            Protocol proto = Protocol.parse(p.protocol());
            Decision egress = from.managed()
                    ? set.decide(Direction.EGRESS, from.labels(), to.labels(), p.port(), proto, mode)
                    : new Decision(true, "external host (no policy)", 0, false);
            Decision ingress = to.managed()
                    ? set.decide(Direction.INGRESS, to.labels(), from.labels(), p.port(), proto, mode)
                    : new Decision(true, "external host (no policy)", 0, false);
            boolean allowed = egress.allowed() && ingress.allowed();
            Decision deciding;
            if (!egress.allowed()) deciding = egress;
            else if (!ingress.allowed()) deciding = ingress;
            else if (ingress.ruleId() != 0) deciding = ingress;
            else if (egress.ruleId() != 0) deciding = egress;
            else deciding = to.managed() ? ingress : egress;
            String verdict = allowed ? "allow" : "deny";
            String note = p.http() != null ? L7_NOTE : "";
            results.add(new ProbeResult(p.from(), p.to(), p.port(), proto.toString(), p.expect(), verdict,
                    deciding.rule(), verdict.equals(p.expect()), note));
        }
        return CaseResult.of(tc.name(), results);
    }
}
