package io.septum.metrics.internal;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.septum.api.Endpoint;
import io.septum.api.EndpointState;
import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowStats;
import io.septum.api.policy.PolicyRuleHits;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * Every metric of the agent, in one registry of its own (never the client's static default registry, so that a
 * redeployed bundle starts clean). Flow metrics are counted as flows arrive; rule hits, endpoints and the
 * datapath's lost events are read at scrape time from their owners, so they are never stale and cost nothing
 * between scrapes.
 */
public final class SeptumMetrics {
    /** Where scrape-time figures come from; each may answer empty while its service is away. */
    public interface Sources {
        List<PolicyRuleHits> ruleHits();

        List<Endpoint> endpoints();

        FlowStats flowStats();
    }

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Counter verdicts;
    private final Counter drops;
    private final Counter flows;
    private final Histogram realization;

    public SeptumMetrics(Sources sources) {
        verdicts = Counter.builder().name("septum_policy_verdicts")
                .help("Policy verdicts (first packet of each connection, and each packet dropped by policy) by"
                        + " direction, match type and action")
                .labelNames("direction", "match", "action").register(registry);
        drops = Counter.builder().name("septum_drops")
                .help("Packets dropped by the datapath, by reason").labelNames("reason").register(registry);
        flows = Counter.builder().name("septum_flows_processed")
                .help("Flows observed, by type (event type) and verdict").labelNames("type", "verdict").register(registry);
        realization = Histogram.builder().name("septum_policy_realization_seconds")
                .help("Time from a policy change (import or delete) to the last datapath write that enforces it")
                .classicOnly()
                .classicUpperBounds(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
                .register(registry);
        CounterWithCallback.builder().name("septum_policy_rule_hits")
                .help("Packets each policy rule decided, from the datapath's per-rule counters (0: never matched)")
                .labelNames("namespace", "policy", "rule", "rule_id")
                .callback(cb -> {
                    for (PolicyRuleHits h : safe(sources::ruleHits)) {
                        cb.call(h.hits(), h.namespace(), h.name(), h.rule().section() + "[" + h.rule().index() + "]",
                                Integer.toString(h.rule().id()));
                    }
                }).register(registry);
        GaugeWithCallback.builder().name("septum_endpoints")
                .help("Endpoints by state and source").labelNames("state", "source")
                .callback(cb -> {
                    List<Endpoint> eps = safe(sources::endpoints);
                    Map<String, Integer> counts = new TreeMap<>();
                    Set<String> srcs = new TreeSet<>();
                    for (Endpoint e : eps) {
                        srcs.add(e.source());
                        counts.merge(state(e.state()) + "\u0000" + e.source(), 1, Integer::sum);
                    }
                    // every state of every known source, so that a state that empties reads 0 instead of vanishing
                    for (String src : srcs) {
                        for (EndpointState s : EndpointState.values()) {
                            cb.call(counts.getOrDefault(state(s) + "\u0000" + src, 0), state(s), src);
                        }
                    }
                }).register(registry);
        CounterWithCallback.builder().name("septum_lost_events")
                .help("Datapath events lost: the ring buffer was full (datapath) or enrichment fell behind (observer)")
                .labelNames("where")
                .callback(cb -> {
                    FlowStats s = sources.flowStats();
                    if (s == null) return;
                    cb.call(s.lostEvents(), "datapath");
                    cb.call(s.queueDropped(), "observer");
                }).register(registry);
    }

    private static <T> List<T> safe(Supplier<List<T>> s) {
        try {
            List<T> v = s.get();
            return v == null ? List.of() : v;
        } catch (RuntimeException e) {
            return List.of(); // a service going away mid-scrape: this scrape lacks its figures
        }
    }

    private static String state(EndpointState s) {
        return s.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    public PrometheusRegistry registry() {
        return registry;
    }

    /** Counts one flow. */
    public void record(Flow f) {
        String type = f.eventType() == null ? "unknown" : f.eventType();
        String verdict = f.verdict() == null ? "unknown" : f.verdict();
        flows.labelValues(type, verdict).inc();
        if (Flow.TYPE_DROP.equals(type)) {
            drops.labelValues(f.dropReasonDesc() == null ? Integer.toString(f.dropReason()) : f.dropReasonDesc()).inc();
        }
        boolean policyDrop = Flow.TYPE_DROP.equals(type) && (f.dropReason() == 133 || f.dropReason() == 181);
        if (Flow.TYPE_POLICY_VERDICT.equals(type) || policyDrop) {
            String dir = f.trafficDirection() == null ? "unknown" : f.trafficDirection().toLowerCase(Locale.ROOT);
            String match = f.policyMatchType() == null ? Flow.MATCH_NONE : f.policyMatchType();
            verdicts.labelValues(dir, match, action(verdict)).inc();
        }
    }

    private static String action(String verdict) {
        return switch (verdict) {
            case Flow.FORWARDED -> "allowed";
            case Flow.DROPPED -> "denied";
            case Flow.AUDIT -> "audit";
            case Flow.REDIRECTED -> "redirected";
            default -> verdict.toLowerCase(Locale.ROOT);
        };
    }

    /** One realised policy revision. */
    public void realized(long latencyNanos) {
        realization.observe(latencyNanos / 1e9);
    }
}
