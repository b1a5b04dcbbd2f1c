package io.septum.apiserver.internal;

import io.septum.api.Endpoint;
import io.septum.api.Labels;
import io.septum.api.flow.FlowFilter;
import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.HttpRequestInfo;
import io.septum.api.policy.PolicyEngine;
import io.septum.api.policy.PolicyRepository;
import io.septum.api.policy.PolicyValidationException;
import io.septum.api.policy.Protocol;
import io.septum.api.policy.TraceResult;
import java.util.List;
import java.util.Map;

/**
 * {@code /v1/policy/...}: the tools that read the policies without changing what is in force (trace, validate,
 * hits, suggest, impact, diff, history) and the two that change one policy as one revision (rollback, mode).
 * {@link ApiRoutes} keeps the routing table; the request bodies and their checks live here.
 */
final class PolicyToolRoutes {
    private final Backend backend;
    private final ApiRoutes routes;

    PolicyToolRoutes(Backend backend, ApiRoutes routes) {
        this.backend = backend;
        this.routes = routes;
    }

    /** Body of {@code POST /v1/policy/trace}; {@code http} (optional) traces one HTTP request at L7. */
    public record TraceRequest(List<String> src, List<String> dst, int port, String protocol, TraceHttp http) {
    }

    /** An HTTP request to trace: {@code headers} as {@code "Name: value"} strings. */
    public record TraceHttp(String method, String path, String host, List<String> headers) {
    }

    /** Every rule of every policy with the packets the datapath counted for it. */
    Object ruleHits() {
        List<io.septum.api.datapath.RuleHits> counters;
        try {
            counters = backend.datapath().ruleHits();
        } catch (RuntimeException e) {
            counters = List.of(); // no datapath: every rule reads 0 rather than failing the listing
        }
        return io.septum.api.policy.PolicyRuleHits.of(backend.policyRepository().list(), counters);
    }

    /** {@code POST /v1/policy/impact?since=1h}: the body is the draft, as {@code POST /v1/policies} takes it. */
    Object impact(HttpRequest req) throws PolicyValidationException {
        Map<String, List<String>> q = ApiRoutes.only(req.query(), "since");
        return backend.policyImpact().impact(draft(req), FlowFilter.since(ApiRoutes.one(q, "since")));
    }

    /** {@code GET /v1/policy/history[?namespace=NS&name=NAME][&limit=N]}: newest first. */
    Object history(HttpRequest req) {
        Map<String, List<String>> q = ApiRoutes.only(req.query(), "namespace", "name", "limit");
        String name = ApiRoutes.one(q, "name");
        String ns = ApiRoutes.one(q, "namespace");
        int limit = 0;
        String l = ApiRoutes.one(q, "limit");
        if (l != null && !l.isBlank()) {
            try {
                limit = Integer.parseInt(l.strip());
            } catch (NumberFormatException e) {
                throw new HttpException(400, "limit: \"" + l + "\" is not a number");
            }
        }
        return backend.policyHistory().history(ns == null ? "" : ns, name == null || name.isBlank() ? null : name, limit);
    }

    /** Body of {@code POST /v1/policy/rollback}. */
    public record RollbackRequest(String namespace, String name, Long revision) {
    }

    /** {@code POST /v1/policy/rollback}: one policy back to what it was after a revision, as one new change. */
    Object rollback(HttpRequest req) throws PolicyValidationException {
        RollbackRequest r = routes.read(req, RollbackRequest.class);
        if (r == null || r.name() == null || r.name().isBlank() || r.revision() == null) {
            throw new HttpException(400, "rollback needs name and revision, e.g. {\"namespace\": \"default\", "
                    + "\"name\": \"rule1\", \"revision\": 3}");
        }
        long revision = backend.policyHistory().rollback(r.namespace() == null ? "" : r.namespace(), r.name(),
                r.revision(), req.author());
        return Map.of("revision", revision);
    }

    /** Body of {@code POST /v1/policy/mode}. */
    public record ModeRequest(String namespace, String name, String mode) {
    }

    /** {@code POST /v1/policy/mode}: stage ({@code audit}) or promote ({@code enforce}) one policy, as one change. */
    Object mode(HttpRequest req) throws PolicyValidationException {
        ModeRequest r = routes.read(req, ModeRequest.class);
        if (r == null || r.name() == null || r.name().isBlank() || r.mode() == null) {
            throw new HttpException(400, "mode needs name and mode, e.g. {\"namespace\": \"default\", \"name\": "
                    + "\"rule1\", \"mode\": \"audit\"} (audit or enforce)");
        }
        long revision = backend.policyHistory().setMode(r.namespace() == null ? "" : r.namespace(), r.name(), r.mode(),
                req.author());
        return Map.of("revision", revision);
    }

    /** {@code POST /v1/policy/diff}: what the draft changes, policy by policy, against the policies in force. */
    Object diff(HttpRequest req) throws PolicyValidationException {
        return backend.policyImpact().diff(draft(req));
    }

    /** A draft policy from a request body: parsed and validated, never stored. */
    private io.septum.api.policy.PolicySet draft(HttpRequest req) throws PolicyValidationException {
        return backend.policyEngine().parse(ApiRoutes.origin(req.header("x-septum-origin")), req.bodyText());
    }

    Object suggest(HttpRequest req) {
        Map<String, List<String>> q = ApiRoutes.only(req.query(), "endpoint", "since");
        String ep = ApiRoutes.one(q, "endpoint");
        if (ep == null || ep.isBlank()) throw new HttpException(400, "endpoint=ID|NAME is required");
        java.time.Instant from = FlowFilter.since(ApiRoutes.one(q, "since"));
        Endpoint e = routes.endpoint(ep);
        return backend.policySuggester().suggest(String.valueOf(e.id()), from);
    }

    Object validate(HttpRequest req) throws PolicyValidationException {
        PolicyEngine engine = backend.policyEngine();
        engine.parse(ApiRoutes.origin(req.header("x-septum-origin")), req.bodyText());
        return Map.of("valid", true);
    }

    TraceResult trace(HttpRequest req) {
        TraceRequest t = routes.read(req, TraceRequest.class);
        if (t == null || t.src() == null || t.src().isEmpty() || t.dst() == null || t.dst().isEmpty()) {
            throw new HttpException(400, "trace needs src and dst labels, e.g. {\"src\": [\"k8s:org=empire\"], "
                    + "\"dst\": [\"k8s:class=deathstar\"], \"port\": 80, \"protocol\": \"TCP\"}");
        }
        if (t.port() < 0 || t.port() > 65535) throw new HttpException(400, "port " + t.port() + " is out of range 0-65535");
        Protocol protocol = Protocol.parse(t.protocol() == null ? "TCP" : t.protocol());
        // the request's own mistakes first: a bad label is a 400 even while the policy repository restarts
        Labels src = Labels.forTrace(t.src());
        Labels dst = Labels.forTrace(t.dst());
        HttpRequestInfo http = httpRequest(t.http());
        if (http != null && protocol != Protocol.TCP) throw new HttpException(400, "an HTTP trace needs protocol TCP");
        PolicyRepository repo = backend.policyRepository();
        EnforcementMode mode = repo.mode();
        return http == null ? repo.current().trace(src, dst, t.port(), protocol, mode)
                : repo.current().trace(src, dst, t.port(), protocol, mode, http);
    }

    private static HttpRequestInfo httpRequest(TraceHttp h) {
        if (h == null) return null;
        String method = h.method() == null || h.method().isBlank() ? "GET" : h.method().strip();
        if (!method.matches("[A-Za-z]+")) throw new HttpException(400, "http.method \"" + h.method() + "\" is not an HTTP method");
        String path = h.path() == null || h.path().isBlank() ? "/" : h.path().strip();
        if (!path.startsWith("/")) throw new HttpException(400, "http.path \"" + h.path() + "\" must start with /");
        java.util.Map<String, List<String>> headers = new java.util.LinkedHashMap<>();
        for (String line : h.headers() == null ? List.<String>of() : h.headers()) {
            int c = line == null ? -1 : line.indexOf(':');
            if (c <= 0) throw new HttpException(400, "http.headers: \"" + line + "\" is not \"Name: value\"");
            headers.computeIfAbsent(line.substring(0, c).strip().toLowerCase(java.util.Locale.ROOT), k -> new java.util.ArrayList<>())
                    .add(line.substring(c + 1).strip());
        }
        String host = h.host() != null && !h.host().isBlank() ? h.host().strip()
                : headers.containsKey("host") ? headers.get("host").get(0) : null;
        return new HttpRequestInfo(method, path, host, headers);
    }
}
