package io.septum.webui.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.septum.api.Endpoint;
import io.septum.api.flow.FlowFilter;
import io.septum.api.policy.ImportResult;
import io.septum.api.policy.PolicyModes;
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
 * GET  /api/session                         {user, csrf} of the signed-in browser; 401 when signed out
 * POST /api/session/logout                  ends the session
 * GET  /api/policy/suggest?endpoint=ID[&amp;since=1h]  {yaml}: a draft from the endpoint's observed flows
 * POST /api/policy/validate                 body: YAML; {valid, policies} or {valid: false, errors: [...]}
 * POST /api/policy/impact[?since=24h]       body: YAML; the ImpactReport (as septum policy impact -o json)
 * POST /api/policy/diff                     body: YAML; the PolicyDiff (the endpoints whose policy changes)
 * GET  /api/policy/history[?namespace=&amp;name=]  [PolicyRevision], newest first
 * POST /api/policy/apply?mode=audit|enforce  body: YAML; imports it (audit: every policy annotated as staged)   *
 * POST /api/policy/mode                     {namespace, name, mode}: stage (audit) or promote (enforce)        *
 * POST /api/policy/rollback                 {namespace, name, revision}                                      *
 * </pre>
 *
 * <p>Routes marked * change the agent: they need a session and its CSRF token ({@link UiCall#writer}); each change is
 * recorded in the policy history with the session's author. The others only read or compute.
 */
final class PolicyWorkbench {
    /** Where drafts come from, as errors and the history name them. */
    static final String ORIGIN = "web UI draft";
    private static final Set<String> KINDS = Set.of("CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy", "NetworkPolicy");

    private final UiBackend backend;
    private final UiSessions sessions;
    private final ObjectMapper json;
    private final YAMLMapper yaml = new YAMLMapper(new YAMLFactory()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES));

    PolicyWorkbench(UiBackend backend, UiSessions sessions, ObjectMapper json) {
        this.backend = backend;
        this.sessions = sessions;
        this.json = json;
    }

    /** Whether this class answers {@code path}. */
    static boolean owns(String path) {
        return path.startsWith("/api/policy/") || path.equals("/api/session") || path.equals("/api/session/logout");
    }

    Object route(UiCall call) throws PolicyValidationException {
        switch (call.path()) {
            case "/api/session": {
                call.only("GET");
                UiSessions.Session s = call.session(sessions)
                        .orElseThrow(() -> new UiException(401, "not signed in: run 'septum ui login' on this host"));
                return Map.of("user", s.author(), "csrf", s.csrf());
            }
            case "/api/session/logout": {
                call.only("POST");
                sessions.end(call.writer(sessions).id());
                return Map.of("signed_out", true);
            }
            case "/api/policy/suggest":
                call.only("GET");
                return suggest(call);
            case "/api/policy/validate":
                call.only("POST");
                return validate(call.bodyText());
            case "/api/policy/impact":
                call.only("POST");
                return backend.policyImpact().impact(draft(call.bodyText()), since(call, "since"));
            case "/api/policy/diff":
                call.only("POST");
                return backend.policyImpact().diff(draft(call.bodyText()));
            case "/api/policy/history": {
                call.only("GET");
                String name = call.param("name");
                String ns = call.param("namespace");
                return backend.policyHistory().history(ns == null ? "" : ns, name == null || name.isBlank() ? null : name, 200);
            }
            case "/api/policy/apply": {
                call.only("POST");
                UiSessions.Session s = call.writer(sessions);
                return apply(call, s);
            }
            case "/api/policy/mode": {
                call.only("POST");
                UiSessions.Session s = call.writer(sessions);
                JsonNode r = call.jsonBody(json);
                long revision = backend.policyHistory().setMode(text(r, "namespace", ""), text(r, "name", null),
                        text(r, "mode", null), s.changeAuthor());
                return Map.of("revision", revision);
            }
            case "/api/policy/rollback": {
                call.only("POST");
                UiSessions.Session s = call.writer(sessions);
                JsonNode r = call.jsonBody(json);
                if (!r.path("revision").canConvertToLong()) throw new UiException(400, "rollback needs a numeric revision");
                long revision = backend.policyHistory().rollback(text(r, "namespace", ""), text(r, "name", null),
                        r.path("revision").asLong(), s.changeAuthor());
                return Map.of("revision", revision);
            }
            default:
                throw new UiException(404, "no such API: " + call.method() + " " + call.path());
        }
    }

    private Object suggest(UiCall call) {
        String ep = call.param("endpoint");
        if (ep == null || ep.isBlank()) throw new UiException(400, "endpoint=ID|NAMESPACE/NAME is required");
        Endpoint e = backend.endpointManager().get(ep.strip())
                .orElseThrow(() -> new UiException(404, "no endpoint " + ep.strip()));
        Map<String, Object> policy;
        try {
            policy = backend.policySuggester().suggest(String.valueOf(e.id()), since(call, "since"));
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
        return backend.policyEngine().parse(ORIGIN, text);
    }

    /** Imports the draft; in audit mode every policy of it carries the audit annotation first (one change, no window). */
    private ImportResult apply(UiCall call, UiSessions.Session s) throws PolicyValidationException {
        String mode = call.param("mode");
        if (!PolicyModes.AUDIT.equals(mode) && !PolicyModes.ENFORCE.equals(mode)) {
            throw new UiException(400, "mode must be " + PolicyModes.AUDIT + " or " + PolicyModes.ENFORCE);
        }
        String text = call.bodyText();
        draft(text); // the errors of the text as typed, before any rewriting
        if (mode.equals(PolicyModes.AUDIT)) text = annotated(text, PolicyModes.AUDIT);
        return backend.policyRepository().importPolicies(ORIGIN, text, s.changeAuthor());
    }

    /** The documents with {@code metadata.annotations[policy.septum.io/mode] = mode} on every policy kind. */
    String annotated(String text, String mode) {
        List<String> docs = new ArrayList<>();
        try (var it = yaml.readerFor(JsonNode.class).<JsonNode>readValues(text)) {
            while (it.hasNextValue()) {
                JsonNode doc = it.nextValue();
                if (doc instanceof ObjectNode o && KINDS.contains(o.path("kind").asText())) {
                    JsonNode meta = o.path("metadata");
                    if (meta instanceof ObjectNode m) {
                        JsonNode ann = m.path("annotations");
                        ObjectNode a = ann instanceof ObjectNode an ? an : m.putObject("annotations");
                        a.put(PolicyModes.ANNOTATION, mode);
                    }
                }
                if (doc != null && !doc.isMissingNode() && !doc.isNull()) docs.add(yaml.writeValueAsString(doc));
            }
        } catch (IOException e) {
            throw new UiException(400, "the draft is not YAML: " + e.getMessage());
        }
        return String.join("---\n", docs);
    }

    private static Instant since(UiCall call, String name) {
        String since = call.param(name);
        if (since == null || since.isBlank()) return null;
        return Instant.ofEpochSecond(0, FlowFilter.parseTime(since.strip(), System.currentTimeMillis() * 1_000_000L));
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
