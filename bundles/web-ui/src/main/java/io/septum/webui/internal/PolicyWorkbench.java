package io.septum.webui.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.septum.api.Endpoint;
import io.septum.api.EndpointManager;
import io.septum.api.flow.FlowFilter;
import io.septum.api.flow.PolicyImpact;
import io.septum.api.flow.PolicySuggester;
import io.septum.api.policy.ClusterPolicies;
import io.septum.api.policy.ImportResult;
import io.septum.api.policy.PolicyEngine;
import io.septum.api.policy.PolicyHistory;
import io.septum.api.policy.PolicyModes;
import io.septum.api.policy.PolicyRepository;
import io.septum.api.policy.PolicySet;
import io.septum.api.policy.PolicyValidationException;
import io.septum.api.policy.ValidationError;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;

/**
 * The UI's policy workbench: draft a policy from observed flows, validate it as it is typed, judge it against
 * recorded traffic, apply it in audit mode or enforcing, promote, roll back, and read the history. The same services
 * as {@code septum policy suggest|validate|impact|diff|history|stage|promote|rollback}, so the UI and the CLI agree.
 *
 * <pre>
 * POST /api/session/login  {token}          trades a link's one-time token: the cookie, and {user, csrf} once
 * GET  /api/session                         {user} of the signed-in browser; 401 when signed out
 * POST /api/session/logout                  ends the session                                               *
 * GET  /api/policy/suggest?endpoint=ID[&amp;since=1h]  {yaml}: a draft from the endpoint's observed flows
 * POST /api/policy/validate                 body: YAML; {valid, policies} or {valid: false, errors: [...]}
 * POST /api/policy/impact[?since=24h]       body: YAML; the ImpactReport (as septum policy impact -o json)
 * POST /api/policy/diff                     body: YAML; the PolicyDiff (the endpoints whose policy changes)
 * GET  /api/policy/history[?namespace=&amp;name=]  [PolicyRevision], newest first
 * POST /api/policy/apply?mode=audit|enforce[&amp;scope=cluster]  body: YAML; imports it (audit: every policy
 *                                           annotated as staged); scope=cluster: into the cluster's store       *
 * GET  /api/policy/cluster                  [ClusterPolicy]: cluster mode's policies; 503 when standalone
 * POST /api/policy/cluster/delete           {namespace, name}: removes a cluster policy (every node drops it)  *
 * POST /api/policy/mode                     {namespace, name, mode}: stage (audit) or promote (enforce)        *
 * POST /api/policy/rollback                 {namespace, name, revision}                                      *
 * POST /api/probe                           {from, to, port, protocol: TCP|HTTP|ICMP, method, path}: one real attempt from inside FROM (UiProbe) *
 * </pre>
 *
 * <p>Routes marked * change the agent: they need a session and its CSRF token ({@link UiCall#writer}); each change is
 * recorded in the policy history with the session's author. The others only read or compute. Every POST is refused
 * when the browser says it comes from another page ({@link UiCall#sameOrigin}).
 */
final class PolicyWorkbench {
    private static final System.Logger LOG = System.getLogger(PolicyWorkbench.class.getName());
    /** Where drafts come from, as errors and the history name them. */
    static final String ORIGIN = "web UI draft";
    private static final Set<String> KINDS = Set.of("CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy", "NetworkPolicy");

    private final UiBackend backend;
    private final UiSessions sessions;
    private final UiProbe probe;
    private final ObjectMapper json;
    // every string is written quoted: "1.10" must not come back as the number 1.1
    private final YAMLMapper yaml = new YAMLMapper(new YAMLFactory().disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER));

    PolicyWorkbench(UiBackend backend, UiSessions sessions, ObjectMapper json) {
        this.backend = backend;
        this.sessions = sessions;
        this.probe = new UiProbe(backend);
        this.json = json;
    }

    /** Whether this class answers {@code path}. */
    static boolean owns(String path) {
        return path.startsWith("/api/policy/") || path.startsWith("/api/session") || path.equals("/api/probe");
    }

    Object route(UiCall call) throws PolicyValidationException {
        switch (call.path()) {
            case "/api/session": {
                call.only("GET");
                UiSessions.Session s = call.session(sessions)
                        .orElseThrow(() -> new UiException(401, "not signed in: run 'septum ui login' on this host"));
                return Map.of("user", s.author());
            }
            case "/api/session/login": {
                call.only("POST");
                String token = call.jsonBody(json).path("token").asText("");
                UiSessions.Session s = sessions.redeem(token).orElseThrow(() -> new UiException(403, "this login link was"
                        + " used already, has expired (after " + UiSessions.LINK_TTL.toMinutes() + " minutes) or is not"
                        + " one of this agent's: run 'septum ui login' again"));
                LOG.log(System.Logger.Level.INFO, "web UI session opened for " + s.author());
                // the CSRF token travels once, to the page that had the link; the cookie alone changes nothing
                return new UiApi.WithCookie(Map.of("user", s.author(), "csrf", s.csrf()),
                        UiCall.COOKIE + "=" + s.id() + "; Path=/; HttpOnly; SameSite=Strict");
            }
            case "/api/session/logout": {
                call.only("POST");
                sessions.end(call.writer(sessions).id());
                return new UiApi.WithCookie(Map.of("signed_out", true), UiCall.COOKIE + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
            }
            case "/api/policy/suggest":
                call.only("GET");
                return suggest(call);
            case "/api/policy/validate":
                call.only("POST");
                return validate(call.bodyText());
            case "/api/policy/impact":
                call.only("POST");
                return backend.need(PolicyImpact.class).impact(draft(call.bodyText()), since(call, "since"));
            case "/api/policy/diff":
                call.only("POST");
                return backend.need(PolicyImpact.class).diff(draft(call.bodyText()));
            case "/api/policy/history": {
                call.only("GET");
                String name = call.param("name");
                String ns = call.param("namespace");
                return backend.need(PolicyHistory.class).history(ns == null ? "" : ns, name == null || name.isBlank() ? null : name, 200);
            }
            case "/api/policy/apply": {
                call.only("POST");
                UiSessions.Session s = call.writer(sessions);
                return apply(call, s);
            }
            case "/api/policy/cluster":
                call.only("GET");
                return backend.need(ClusterPolicies.class).list();
            case "/api/policy/cluster/delete": {
                call.only("POST");
                UiSessions.Session s = call.writer(sessions);
                JsonNode r = call.jsonBody(json);
                String ns = text(r, "namespace", ""), name = text(r, "name", null);
                if (!backend.need(ClusterPolicies.class).delete(ns, name)) {
                    throw new UiException(404, "no cluster policy " + (ns.isEmpty() ? name : ns + "/" + name));
                }
                LOG.log(System.Logger.Level.INFO, s.changeAuthor() + " deleted cluster policy "
                        + (ns.isEmpty() ? name : ns + "/" + name));
                return Map.of("deleted", ns.isEmpty() ? name : ns + "/" + name);
            }
            case "/api/policy/mode": {
                call.only("POST");
                UiSessions.Session s = call.writer(sessions);
                JsonNode r = call.jsonBody(json);
                long revision = backend.need(PolicyHistory.class).setMode(text(r, "namespace", ""), text(r, "name", null),
                        text(r, "mode", null), s.changeAuthor());
                return Map.of("revision", revision);
            }
            case "/api/policy/rollback": {
                call.only("POST");
                UiSessions.Session s = call.writer(sessions);
                JsonNode r = call.jsonBody(json);
                if (!r.path("revision").canConvertToLong()) throw new UiException(400, "rollback needs a numeric revision");
                long revision = backend.need(PolicyHistory.class).rollback(text(r, "namespace", ""), text(r, "name", null),
                        r.path("revision").asLong(), s.changeAuthor());
                return Map.of("revision", revision);
            }
            case "/api/probe": {
                call.only("POST");
                UiSessions.Session s = call.writer(sessions);
                JsonNode r = call.jsonBody(json);
                String protocol = text(r, "protocol", "TCP").toUpperCase(java.util.Locale.ROOT);
                if (!protocol.equals("ICMP") && !r.path("port").canConvertToInt()) {
                    throw new UiException(400, "the probe needs a numeric \"port\"");
                }
                io.septum.api.flow.ProbeResult p = probe.probe(text(r, "from", null), text(r, "to", null),
                        r.path("port").asInt(), protocol, text(r, "method", "GET"), text(r, "path", "/"));
                // packets sent as root from inside a workload: the log says who asked
                LOG.log(System.Logger.Level.INFO, s.changeAuthor() + " probed " + p.from() + " -> " + p.to() + " ("
                        + p.address() + ") " + p.port() + "/" + p.protocol() + ": " + p.result());
                return p;
            }
            default:
                throw new UiException(404, "no such API: " + call.method() + " " + call.path());
        }
    }

    private Object suggest(UiCall call) {
        String ep = call.param("endpoint");
        if (ep == null || ep.isBlank()) throw new UiException(400, "endpoint=ID|NAMESPACE/NAME is required");
        Endpoint e = backend.need(EndpointManager.class).get(ep.strip())
                .orElseThrow(() -> new UiException(404, "no endpoint " + ep.strip()));
        Map<String, Object> policy;
        try {
            policy = backend.need(PolicySuggester.class).suggest(String.valueOf(e.id()), since(call, "since"));
        } catch (NoSuchElementException | IllegalStateException x) {
            throw new UiException(404, x.getMessage());
        }
        try {
            return Map.of("endpoint", e.namespace() + "/" + e.name(), "yaml", yaml.writeValueAsString(policy));
        } catch (JsonProcessingException x) {
            throw new UiException(500, "cannot write the draft as YAML: " + x.getOriginalMessage());
        }
    }

    /** As-you-type validation: always a 200, so that the page shows the errors, not a failure. */
    private Map<String, Object> validate(String text) {
        Map<String, Object> r = new LinkedHashMap<>();
        try {
            PolicySet set = draft(text);
            r.put("valid", true);
            r.put("policies", set.policies().stream().map(p -> p.qualifiedName()).toList());
        } catch (PolicyValidationException e) {
            r.put("valid", false);
            r.put("errors", e.errors().stream().map(ValidationError::message).toList());
        }
        return r;
    }

    private PolicySet draft(String text) throws PolicyValidationException {
        if (text.isBlank()) {
            throw new PolicyValidationException(List.of(new ValidationError(ORIGIN, 0, null, null, "", "the draft is empty")));
        }
        return backend.need(PolicyEngine.class).parse(ORIGIN, text);
    }

    /**
     * Imports the draft. In audit mode every policy of it carries the audit annotation first, in the one import (no
     * window in which it enforces); the rewritten text is checked before anything is applied: the same documents
     * but for the annotation, and every policy of it in audit mode. Anything else is a 400 with nothing changed.
     */
    private Map<String, Object> apply(UiCall call, UiSessions.Session s) throws PolicyValidationException {
        String mode = call.param("mode");
        if (!PolicyModes.AUDIT.equals(mode) && !PolicyModes.ENFORCE.equals(mode)) {
            throw new UiException(400, "mode must be " + PolicyModes.AUDIT + " or " + PolicyModes.ENFORCE);
        }
        String scope = call.param("scope");
        boolean cluster = "cluster".equals(scope);
        if (scope != null && !cluster && !"node".equals(scope)) {
            throw new UiException(400, "scope must be node (this agent's policies, the default) or cluster (the cluster's store)");
        }
        String text = call.bodyText();
        PolicySet typed = draft(text); // the errors of the text as typed, before any rewriting
        if (mode.equals(PolicyModes.AUDIT)) {
            text = annotated(text, PolicyModes.AUDIT);
            PolicySet staged = draft(text);
            List<String> names = typed.policies().stream().map(p -> p.qualifiedName()).toList();
            List<String> audited = staged.policies().stream().filter(p -> PolicyModes.AUDIT.equals(PolicyView.mode(p)))
                    .map(p -> p.qualifiedName()).toList();
            if (!audited.equals(names)) {
                throw new UiException(400, "cannot stage this draft in audit mode (policies " + names + ", in audit mode"
                        + " after annotating: " + audited + "); nothing changed: add the annotation "
                        + PolicyModes.ANNOTATION + ": audit yourself, or apply it enforcing");
            }
        }
        Map<String, Object> answer = new LinkedHashMap<>();
        if (cluster) {
            // every node imports it as it sees it; its history names the session's author "via cluster (etcd)"
            List<io.septum.api.policy.ClusterPolicy> stored = backend.need(ClusterPolicies.class).importPolicies(text, s.changeAuthor());
            LOG.log(System.Logger.Level.INFO, s.changeAuthor() + " stored cluster policies "
                    + stored.stream().map(p -> p.namespace().isEmpty() ? p.name() : p.namespace() + "/" + p.name()).toList()
                    + " (" + mode + ")");
            answer.put("policies", stored.stream().map(p -> p.namespace().isEmpty() ? p.name()
                    : p.namespace() + "/" + p.name()).toList());
            answer.put("mode", mode);
            answer.put("scope", "cluster");
            return answer;
        }
        ImportResult r = backend.need(PolicyRepository.class).importPolicies(ORIGIN, text, s.changeAuthor());
        answer.put("revision", r.revision());
        answer.put("policies", r.policies());
        answer.put("mode", mode);
        return answer;
    }

    /**
     * The documents with {@code metadata.annotations[policy.septum.io/mode] = mode} on every policy, those of list
     * documents ({@code kind: List}, {@code ...List} with {@code items}) included. Each rewritten document must read
     * back as the typed one but for that annotation; a 400 otherwise.
     */
    String annotated(String text, String mode) {
        List<String> docs = new ArrayList<>();
        try (var it = yaml.readerFor(JsonNode.class).<JsonNode>readValues(text)) {
            while (it.hasNextValue()) {
                JsonNode doc = it.nextValue();
                if (doc == null || doc.isMissingNode() || doc.isNull()) continue;
                JsonNode typed = doc.deepCopy();
                annotate(doc, mode);
                if (doc instanceof ObjectNode o && o.path("items").isArray()) {
                    for (JsonNode item : o.path("items")) annotate(item, mode);
                }
                String written = yaml.writeValueAsString(doc);
                JsonNode back = yaml.readTree(written);
                removeAnnotation(back);
                if (back.path("items").isArray()) for (JsonNode item : back.path("items")) removeAnnotation(item);
                removeAnnotation(typed);
                if (typed.path("items").isArray()) for (JsonNode item : typed.path("items")) removeAnnotation(item);
                if (!back.equals(typed)) {
                    throw new UiException(400, "the draft does not survive being rewritten with the audit annotation;"
                            + " nothing changed: add " + PolicyModes.ANNOTATION + ": audit yourself");
                }
                docs.add(written);
            }
        } catch (IOException e) {
            throw new UiException(400, "the draft is not YAML: " + e.getMessage());
        }
        return String.join("---\n", docs);
    }

    private static void annotate(JsonNode doc, String mode) {
        if (!(doc instanceof ObjectNode o) || !KINDS.contains(o.path("kind").asText())) return;
        if (o.path("metadata") instanceof ObjectNode m) {
            JsonNode ann = m.path("annotations");
            ObjectNode a = ann instanceof ObjectNode an ? an : m.putObject("annotations");
            a.put(PolicyModes.ANNOTATION, mode);
        }
    }

    /** The typed document's own annotation, or the one added, taken out for the comparison. */
    private static void removeAnnotation(JsonNode doc) {
        if (doc.path("metadata").path("annotations") instanceof ObjectNode a) {
            a.remove(PolicyModes.ANNOTATION);
            if (a.isEmpty() && doc.path("metadata") instanceof ObjectNode m) m.remove("annotations");
        }
    }

    private static Instant since(UiCall call, String name) {
        return FlowFilter.since(call.param(name));
    }

    private static String text(JsonNode r, String field, String fallback) {
        JsonNode v = r.path(field);
        if (v.isTextual() && !v.asText().isBlank()) return v.asText().strip();
        if (fallback != null) return fallback;
        throw new UiException(400, "the body needs \"" + field + "\"");
    }

    static String utf8(byte[] body) {
        return body == null ? "" : new String(body, StandardCharsets.UTF_8);
    }
}
