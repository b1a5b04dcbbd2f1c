package io.septum.webui.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.septum.api.EndpointManager;
import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowNodeStatus;
import io.septum.api.flow.FlowObserver;
import io.septum.api.flow.FlowQuery;
import io.septum.api.flow.FlowRelay;
import io.septum.api.policy.PolicyInfo;
import io.septum.api.policy.PolicyRepository;
import java.io.IOException;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * The UI's JSON API, request to response, without sockets (see {@link WebUiServer}) so that tests drive it with
 * fakes. The routes below read; {@link PolicyWorkbench} adds {@code /api/session} and {@code /api/policy/*}, where a
 * signed-in browser changes policy.
 *
 * <pre>
 * GET  /api/endpoints             [Endpoint]
 * GET  /api/policies              [PolicyView], rules with hits (null: unknown)
 * GET  /api/flows?FILTERS&amp;last=N  [Flow], oldest first
 * POST /api/why                   body: a Flow as /api/flows lists it; answer: Why
 * GET  /api/stream?FILTERS&amp;last=N server-sent events (WebUiServer): the last N flows, then each new one
 * </pre>
 *
 * <p>With {@code cluster=true}, flows and the stream come from the flow relay, as {@code /v1/flows?cluster=true}'s
 * do: every node's flows, each with its {@code node_name}; the stream also sends {@code node-status} events for a node
 * that cannot be read (the JSON list has the flows only).
 */
final class UiApi {
    /** Flows a page asks for when it names no {@code last}: enough for a map, small enough for a table. */
    static final int DEFAULT_LAST = 500;

    /** The UI's flow filters, read by the API's one flow-query parser (as {@code /v1/flows}'s); a bad one is a 400. */
    static FlowQuery flowQuery(Map<String, List<String>> query) {
        try {
            return FlowQuery.parse(query, DEFAULT_LAST, java.util.Set.of(CLUSTER));
        } catch (IllegalArgumentException e) {
            throw new UiException(400, e.getMessage());
        }
    }

    /** The parameter that asks for every node's flows. */
    static final String CLUSTER = "cluster";

    /** Whether the query asks for every node's flows: {@code cluster=true} (or {@code 1}); a bad value is a 400. */
    static boolean cluster(Map<String, List<String>> query) {
        List<String> v = query.get(CLUSTER);
        if (v == null || v.isEmpty()) return false;
        String s = v.get(v.size() - 1).strip();
        if (s.equals("true") || s.equals("1")) return true;
        if (s.equals("false") || s.equals("0") || s.isEmpty()) return false;
        throw new UiException(400, "cluster=" + s + " is not true or false");
    }

    /** The relay's parameters: the query without {@code cluster}, with the UI's default {@code last}. */
    static Map<String, List<String>> relayQuery(Map<String, List<String>> query) {
        Map<String, List<String>> q = new java.util.LinkedHashMap<>(query);
        q.remove(CLUSTER);
        q.putIfAbsent("last", List.of(Integer.toString(DEFAULT_LAST)));
        return q;
    }

    /** An answer: status, JSON body, and a {@code Set-Cookie} value or null. */
    record Answer(int status, byte[] body, String setCookie) {
        Answer(int status, byte[] body) {
            this(status, body, null);
        }
    }

    /** A route's answer that also sets (or clears) the session cookie. */
    record WithCookie(Object body, String setCookie) {
    }

    private final UiBackend backend;
    private final ObjectMapper mapper = new ObjectMapper();
    private final ObjectMapper lenient = new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    private final UiSessions sessions;
    private final PolicyWorkbench workbench;

    UiApi(UiBackend backend) {
        this(backend, new UiSessions(java.time.Clock.systemUTC()));
    }

    UiApi(UiBackend backend, UiSessions sessions) {
        this.backend = backend;
        this.sessions = sessions;
        this.workbench = new PolicyWorkbench(backend, sessions, mapper);
    }

    UiSessions sessions() {
        return sessions;
    }

    ObjectMapper mapper() {
        return mapper;
    }

    UiBackend backend() {
        return backend;
    }

    /** Answers one request under {@code /api/} without session headers (a reader); never throws. */
    Answer handle(String method, String path, Map<String, List<String>> query, byte[] body) {
        return handle(UiCall.of(method, path, query, body));
    }

    /** Answers one request under {@code /api/}; never throws. */
    Answer handle(UiCall call) {
        try {
            if (!call.method().equals("GET") && !call.method().equals("HEAD")) call.sameOrigin();
            if (PolicyWorkbench.owns(call.path())) {
                Object body = workbench.route(call);
                if (body instanceof WithCookie c) {
                    Answer a = json(200, c.body());
                    return new Answer(a.status(), a.body(), c.setCookie());
                }
                return json(200, body);
            }
            return json(200, route(call.method(), call.path(), call.query(), call.body()));
        } catch (UiException e) {
            return error(e.status(), e.getMessage());
        } catch (io.septum.api.policy.PolicyValidationException e) {
            return error(400, e.errors().stream().map(io.septum.api.policy.ValidationError::message)
                    .collect(java.util.stream.Collectors.joining("\n")));
        } catch (java.util.NoSuchElementException e) {
            return error(404, e.getMessage());
        } catch (IllegalArgumentException | IllegalStateException e) {
            return error(400, e.getMessage());
        } catch (RuntimeException e) {
            return error(500, "internal error: " + e);
        }
    }

    private Object route(String method, String path, Map<String, List<String>> query, byte[] body) {
        switch (path) {
            case "/api/endpoints":
                get(method);
                return backend.need(EndpointManager.class).list();
            case "/api/policies":
                get(method);
                return policies();
            case "/api/flows": {
                get(method);
                FlowQuery q = flowQuery(query);
                if (cluster(query)) return clusterFlows(query);
                return backend.need(FlowObserver.class).query(q.filter(), q.last());
            }
            case "/api/why":
                if (!method.equals("POST")) throw new UiException(405, "method " + method + " not allowed here (allowed: POST)");
                return WhyExplainer.explain(readFlow(body), backend.need(PolicyRepository.class));
            default:
                throw new UiException(404, "no such API: " + method + " " + path);
        }
    }

    /** Every node's flows, as the relay ordered them; node reports are left to the stream. */
    private List<Flow> clusterFlows(Map<String, List<String>> query) {
        List<Flow> flows = new java.util.ArrayList<>();
        try {
            backend.need(FlowRelay.class).stream(relayQuery(query), false, new FlowRelay.Sink() {
                @Override
                public void flow(Flow f) {
                    flows.add(f);
                }

                @Override
                public void status(FlowNodeStatus s) {
                    // a list of flows has no place for them: the stream reports nodes
                }

                @Override
                public void idle() {
                    // a finite answer: nothing to keep alive
                }

                @Override
                public boolean open() {
                    return !Thread.currentThread().isInterrupted();
                }
            });
        } catch (IOException e) {
            throw new UiException(502, "the flow relay failed: " + e.getMessage());
        } catch (IllegalStateException e) {
            throw new UiException(503, e.getMessage());
        }
        return flows;
    }

    private List<PolicyView> policies() {
        List<PolicyInfo> list = backend.need(PolicyRepository.class).list();
        Map<Integer, Long> hits = backend.ruleHits();
        return list.stream().sorted(Comparator.comparing(PolicyInfo::qualifiedName))
                .map(p -> PolicyView.of(p, hits)).toList();
    }

    private Flow readFlow(byte[] body) {
        if (body == null || body.length == 0) throw new UiException(400, "the body must be a flow, as /api/flows lists them");
        try {
            return lenient.readValue(body, Flow.class);
        } catch (IOException e) {
            String m = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
            throw new UiException(400, "the body is not a flow: " + m);
        }
    }

    private static void get(String method) {
        if (!method.equals("GET")) throw new UiException(405, "method " + method + " not allowed here (allowed: GET)");
    }

    Answer json(int status, Object body) {
        try {
            return new Answer(status, mapper.writeValueAsBytes(body));
        } catch (JsonProcessingException e) {
            return error(500, "cannot serialise the answer: " + e.getOriginalMessage());
        }
    }

    Answer error(int status, String message) {
        try {
            return new Answer(status, mapper.writeValueAsBytes(Map.of("error", message == null ? "error " + status : message)));
        } catch (JsonProcessingException e) {
            return new Answer(status, "{\"error\":\"error\"}".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
    }
}
