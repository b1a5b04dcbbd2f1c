package io.septum.apiserver.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.septum.api.Endpoint;
import io.septum.api.EndpointManager;
import io.septum.api.EndpointSpec;
import io.septum.api.Identity;
import io.septum.api.IdentityAllocator;
import io.septum.api.datapath.Datapath;
import io.septum.api.datapath.DatapathException;
import io.septum.api.flow.FlowQuery;
import io.septum.api.policy.PolicyInfo;
import io.septum.api.policy.PolicyRepository;
import io.septum.api.policy.PolicyValidationException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import io.septum.api.service.ServiceSpec;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Maps {@code /v1/...} requests to the agent's services and their model objects. Pure request-to-response: no
 * sockets here (see {@link ApiServer}), which keeps every route testable with fakes.
 */
public final class ApiRoutes {
    private static final System.Logger LOG = System.getLogger(ApiRoutes.class.getName());

    /** Body of {@code POST /v1/endpoints}. */
    public record AddEndpoint(String source, EndpointSpec spec) {
    }

    private final Backend backend;
    private final ObjectMapper mapper;
    private final ObjectMapper strict;
    private final PolicyToolRoutes policyTools;

    public ApiRoutes(Backend backend) {
        this.backend = backend;
        this.mapper = new ObjectMapper();
        // Request bodies are parsed strictly: a misspelt field is an error, not a silently ignored value.
        this.strict = new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, true);
        this.policyTools = new PolicyToolRoutes(backend, this);
    }

    public ObjectMapper mapper() {
        return mapper;
    }

    /** Answers one request; never throws. */
    public HttpResponse handle(HttpRequest req) {
        try {
            return route(req);
        } catch (HttpException e) {
            return error(e.status(), e.getMessage(), e.errors());
        } catch (PolicyValidationException e) {
            return error(400, e.getMessage(), e.errors());
        } catch (NoSuchElementException e) {
            return error(404, e.getMessage(), List.of());
        } catch (IllegalArgumentException | UnsupportedOperationException | IllegalStateException e) {
            return error(400, e.getMessage(), List.of());
        } catch (DatapathException e) {
            return error(500, "the datapath refused the change: " + e.getMessage(), List.of());
        } catch (java.io.UncheckedIOException e) {
            // a file the agent could not read or write (its state is written before a change applies: nothing changed)
            String why = e.getMessage();
            boolean full = why != null && why.contains("No space left on device");
            return error(full ? 507 : 500, (full ? "the agent's state disk is full, nothing changed: "
                    : "the agent could not read or write its files, nothing changed: ") + why, List.of());
        } catch (Exception e) {
            LOG.log(System.Logger.Level.ERROR, "API request " + req.method() + " " + req.rawPath() + " failed", e);
            return error(500, "internal error in the agent: " + e, List.of());
        }
    }

    public HttpResponse error(int status, String message, List<?> errors) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("error", message == null ? HttpResponse.reason(status) : message);
        if (errors != null && !errors.isEmpty()) body.put("errors", errors);
        return json(status, body);
    }

    private HttpResponse route(HttpRequest req) throws Exception {
        List<String> s = req.segments();
        String m = req.method();
        if (s.size() < 2 || !s.get(0).equals("v1")) throw notFound(req);
        String noun = s.get(1);
        int n = s.size();
        switch (noun) {
            case "status":
                if (n == 2) return get(m, () -> backend.statusService().status());
                break;
            case "endpoints":
                if (n == 2 && m.equals("GET")) return ok(backend.endpointManager().list());
                if (n == 2 && m.equals("POST")) return addEndpoint(req);
                if (n == 2) throw notAllowed(m, "GET, POST");
                if (n == 3 && m.equals("GET")) return ok(endpoint(s.get(2)));
                if (n == 3 && m.equals("DELETE")) {
                    EndpointManager em = backend.endpointManager();
                    Endpoint e = endpoint(s.get(2));
                    em.delete(String.valueOf(e.id()));
                    return HttpResponse.empty(204);
                }
                if (n == 3) throw notAllowed(m, "GET, DELETE");
                if (n == 4 && s.get(3).equals("config")) {
                    if (!m.equals("PUT")) throw notAllowed(m, "PUT");
                    EndpointConfig c = read(req, EndpointConfig.class);
                    if (c == null || c.audit() == null) throw new HttpException(400, "body: {\"audit\": true|false}");
                    Endpoint e = endpoint(s.get(2));
                    return ok(backend.endpointManager().setAudit(String.valueOf(e.id()), c.audit()));
                }
                break;
            case "namespaces":
                if (n == 2) return get(m, () -> backend.endpointManager().namespaceLabels());
                if (n == 3 && m.equals("PUT")) {
                    Map<String, String> labels = read(req, new TypeReference<Map<String, String>>() { });
                    backend.endpointManager().setNamespaceLabels(s.get(2), labels == null ? Map.of() : labels);
                    return HttpResponse.empty(204);
                }
                if (n == 3 && m.equals("GET")) {
                    Map<String, String> labels = backend.endpointManager().namespaceLabels().get(s.get(2));
                    return ok(labels == null ? Map.of() : labels);
                }
                if (n == 3) throw notAllowed(m, "GET, PUT");
                break;
            case "fqdn":
                if (n == 3 && s.get(2).equals("cache") && m.equals("GET")) return ok(fqdnEntries(req));
                if (n == 3 && s.get(2).equals("cache") && m.equals("DELETE")) {
                    String name = fqdnName(req);
                    return ok(Map.of("removed", backend.fqdnCache().clean(name)));
                }
                if (n == 3 && s.get(2).equals("cache")) throw notAllowed(m, "GET, DELETE");
                break;
            case "identities":
                if (n == 2) return get(m, () -> backend.identityAllocator().list());
                if (n == 3) return get(m, () -> identity(s.get(2)));
                break;
            case "policies":
                if (n == 2 && m.equals("GET")) return ok(policiesWithRejected());
                if (n == 2 && m.equals("POST")) return importPolicies(req);
                if (n == 2) throw notAllowed(m, "GET, POST");
                if (n == 3 || n == 4) {
                    PolicyInfo p = n == 3 ? policyByName(s.get(2)) : policy(s.get(2), s.get(3));
                    if (m.equals("GET")) return ok(p);
                    if (m.equals("DELETE")) {
                        io.septum.api.policy.ClusterPolicies.refuseLocalChange(p.origin(), p.qualifiedName(),
                                "delete it from the store: septum policy delete --cluster");
                        long revision = backend.policyRepository().delete(p.namespace(), p.name(), req.author());
                        return ok(Map.of("revision", revision));
                    }
                    throw notAllowed(m, "GET, DELETE");
                }
                break;
            case "policy":
                if (n == 3 && s.get(2).equals("trace")) return post(m, () -> policyTools.trace(req));
                if (n == 3 && s.get(2).equals("validate")) return post(m, () -> policyTools.validate(req));
                if (n == 3 && s.get(2).equals("hits")) return get(m, policyTools::ruleHits);
                if (n == 3 && s.get(2).equals("suggest")) return get(m, () -> policyTools.suggest(req));
                if (n == 3 && s.get(2).equals("impact")) return post(m, () -> policyTools.impact(req));
                if (n == 3 && s.get(2).equals("history")) return get(m, () -> policyTools.history(req));
                if (n == 3 && s.get(2).equals("rollback")) return post(m, () -> policyTools.rollback(req));
                if (n == 3 && s.get(2).equals("mode")) return post(m, () -> policyTools.mode(req));
                if (n == 3 && s.get(2).equals("diff")) return post(m, () -> policyTools.diff(req));
                break;
            case "flows":
                if (n == 2) return get(m, () -> flows(req));
                break;
            case "services":
                if (n == 2 && m.equals("GET")) return ok(backend.serviceManager().list());
                if (n == 2 && (m.equals("POST") || m.equals("PUT"))) return ServiceRoutes.upsert(backend, read(req, ServiceSpec.class), this);
                if (n == 2) throw notAllowed(m, "GET, POST, PUT");
                if (n == 3 && m.equals("GET")) return ok(ServiceRoutes.service(backend, s.get(2)));
                if (n == 3 && m.equals("DELETE")) {
                    ServiceRoutes.delete(backend, s.get(2));
                    return HttpResponse.empty(204);
                }
                if (n == 3) throw notAllowed(m, "GET, DELETE");
                break;
            case "shell":
                // opening and using a session are writes (WriteAccess): the shell can change anything
                if (n == 3 && s.get(2).equals("commands")) return get(m, () -> backend.remoteShell().commands());
                if (n == 3 && s.get(2).equals("sessions")) {
                    return post(m, () -> Map.of("id", backend.remoteShell().open("shell (" + req.author() + ")")));
                }
                if (n == 4 && s.get(2).equals("sessions")) {
                    if (m.equals("DELETE")) {
                        backend.remoteShell().close(s.get(3));
                        return HttpResponse.empty(204);
                    }
                    return post(m, () -> {
                        ShellLine l = read(req, ShellLine.class);
                        if (l == null || l.line() == null) throw new HttpException(400, "the body needs {\"line\": \"...\"}");
                        return backend.remoteShell().execute(s.get(3), l.line());
                    });
                }
                break;
            case "ui":
                // a write: WriteAccess lets only root and the admin group get a link that can change policy
                if (n == 3 && s.get(2).equals("login")) return post(m, () -> uiLogin(req));
                break;
            case "cluster":
                // a standalone node answers with its mode, not an error: "septum cluster status" says standalone
                if (n == 2) return get(m, () -> backend.has(io.septum.api.ClusterInfo.class)
                        ? backend.clusterInfo().status() : io.septum.api.ClusterStatus.standalone());
                if (n == 3 && s.get(2).equals("nodes")) return get(m, () -> backend.has(io.septum.api.ClusterInfo.class)
                        ? backend.clusterInfo().nodes() : List.<io.septum.api.ClusterNode>of());
                if (n == 3 && s.get(2).equals("endpoints")) return get(m, () -> backend.has(io.septum.api.RemoteEndpoints.class)
                        ? backend.remoteEndpoints().list() : List.<io.septum.api.RemoteEndpoint>of());
                if (n == 3 && s.get(2).equals("policies")) {
                    if (m.equals("GET")) return ok(backend.clusterPolicies().list());
                    if (m.equals("POST")) return ok(backend.clusterPolicies().importPolicies(req.bodyText(), req.author()));
                    throw notAllowed(m, "GET, POST");
                }
                if ((n == 4 || n == 5) && s.get(2).equals("policies")) {
                    if (!m.equals("DELETE")) throw notAllowed(m, "DELETE");
                    String ns = n == 5 ? s.get(3) : "";
                    String name = s.get(n - 1);
                    if (!backend.clusterPolicies().delete(ns, name)) {
                        throw new HttpException(404, "no cluster policy \"" + (ns.isEmpty() ? name : ns + "/" + name)
                                + "\" (see policy list --cluster)");
                    }
                    return HttpResponse.empty(204);
                }
                break;
            case "ipcache":
                if (n == 2) return get(m, () -> backend.endpointManager().ipcache());
                break;
            case "bpf":
                if (n == 3 && s.get(2).equals("endpoints")) return get(m, () -> backend.datapath().endpoints());
                if (n == 3 && s.get(2).equals("ipcache")) return get(m, () -> backend.datapath().ipcache());
                if (n == 4 && s.get(2).equals("policy")) return get(m, () -> bpfPolicy(s.get(3)));
                if (n == 3 && s.get(2).equals("stats")) return get(m, () -> backend.datapath().stats());
                if (n == 3 && s.get(2).equals("lb")) return get(m, () -> backend.datapath().services());
                break;
            default:
                break;
        }
        throw notFound(req);
    }

    // ---- flows -------------------------------------------------------------------------------------------

    /** Body of {@code PUT /v1/endpoints/{id}/config}. */
    public record EndpointConfig(Boolean audit) {
    }

    /** Body of {@code POST /v1/shell/sessions/ID}: one command line. */
    public record ShellLine(String line) {
    }

    /** {@code POST /v1/ui/login}: a one-time link that signs a browser in to the web UI for this caller. */
    private Object uiLogin(HttpRequest req) {
        try {
            return backend.uiLogin().login(req.author());
        } catch (IllegalStateException e) {
            throw new HttpException(503, e.getMessage() + "; enable it with enabled=true in etc/io.septum.webui.cfg");
        }
    }

    private Object flows(HttpRequest req) {
        FlowQuery q = flowQuery(req.query());
        return backend.flowObserver().query(q.filter(), q.last());
    }

    /**
     * {@code /v1/flows}'s parameters, read by the API's one flow-query parser ({@code follow} is this server's own);
     * an unknown parameter or a bad value is a 400 that names it.
     */
    static FlowQuery flowQuery(Map<String, List<String>> q) {
        try {
            return FlowQuery.parse(q, 0, java.util.Set.of("follow", "cluster"));
        } catch (IllegalArgumentException e) {
            throw new HttpException(400, e.getMessage());
        }
    }

    /** The query {@code q}, once it is known to give none but the {@code known} parameters (else a 400 naming them). */
    static Map<String, List<String>> only(Map<String, List<String>> q, String... known) {
        for (String k : q.keySet()) {
            if (!List.of(known).contains(k)) {
                throw new HttpException(400, "unknown parameter " + k + " (" + String.join(", ", known) + ")");
            }
        }
        return q;
    }

    static String one(Map<String, List<String>> q, String k) {
        List<String> v = q.get(k);
        if (v == null || v.isEmpty()) return null;
        if (v.size() > 1) throw new HttpException(400, "the parameter " + k + " is given " + v.size() + " times; give it once");
        return v.get(0);
    }

    /** Whether {@code GET /v1/flows} asks for a stream ({@code follow=true}). */
    public static boolean follow(HttpRequest req) {
        return flag(req, "follow");
    }

    /** Whether {@code GET /v1/flows} asks for every node's flows ({@code cluster=true}), merged by the relay. */
    public static boolean cluster(HttpRequest req) {
        return flag(req, "cluster");
    }

    private static boolean flag(HttpRequest req, String name) {
        List<String> v = req.query().get(name);
        return v != null && !v.isEmpty() && (v.get(0).isEmpty() || v.get(0).equalsIgnoreCase("true") || v.get(0).equals("1"));
    }

    public Backend backend() {
        return backend;
    }

    // ---- endpoints ---------------------------------------------------------------------------------------

    Endpoint endpoint(String idOrName) {
        return backend.endpointManager().get(idOrName).orElseThrow(() -> new HttpException(404,
                "no endpoint \"" + idOrName + "\" (see 'septum endpoint list'; use an id, namespace/name or a unique name)"));
    }

    private HttpResponse addEndpoint(HttpRequest req) {
        AddEndpoint body = read(req, AddEndpoint.class);
        if (body == null || body.spec() == null) {
            throw new HttpException(400, "body must be {\"source\": \"netns\", \"spec\": {...EndpointSpec...}}");
        }
        String source = body.source() == null || body.source().isBlank() ? "netns" : body.source();
        EndpointManager em = backend.endpointManager();
        em.add(source, body.spec());
        String ns = body.spec().namespace() == null ? "default" : body.spec().namespace();
        Optional<Endpoint> added = body.spec().name() == null ? Optional.empty() : em.get(ns + "/" + body.spec().name());
        return added.map(e -> json(201, e)).orElseGet(() -> HttpResponse.empty(201));
    }

    // ---- FQDN cache --------------------------------------------------------------------------------------

    /** The cache's entries; {@code ?name=} keeps one name's (case-insensitive, trailing dot ignored). */
    private List<io.septum.api.fqdn.FqdnEntry> fqdnEntries(HttpRequest req) {
        String name = fqdnName(req);
        List<io.septum.api.fqdn.FqdnEntry> all = backend.fqdnCache().entries();
        if (name == null) return all;
        String n = name.toLowerCase(java.util.Locale.ROOT).replaceAll("\\.$", "");
        return all.stream().filter(e -> e.name().equals(n)).toList();
    }

    /** {@code ?name=NAME}, the only parameter of {@code /v1/fqdn/cache}; null when absent. */
    private static String fqdnName(HttpRequest req) {
        String name = one(only(req.query(), "name"), "name");
        return name == null || name.isBlank() ? null : name;
    }

    // ---- identities --------------------------------------------------------------------------------------

    private Identity identity(String text) {
        IdentityAllocator ids = backend.identityAllocator();
        long id;
        try {
            id = Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw new HttpException(400, "identity \"" + text + "\" is not a number (see 'septum identity list')");
        }
        return ids.get(id).orElseThrow(() -> new HttpException(404, "no identity " + id + " (see 'septum identity list')"));
    }

    // ---- policies ----------------------------------------------------------------------------------------

    /** The policies in force, then the objects a source offered and validation refused (noted "REJECTED: why"). */
    private List<PolicyInfo> policiesWithRejected() {
        PolicyRepository repo = backend.policyRepository();
        List<PolicyInfo> all = new ArrayList<>(repo.list());
        repo.rejected().forEach(r -> all.add(r.asPolicyInfo()));
        return all;
    }

    private PolicyInfo policy(String ns, String name) {
        String namespace = ns.equals("-") ? "" : ns;
        return backend.policyRepository().get(namespace, name).orElseThrow(() -> new HttpException(404,
                "no policy \"" + (namespace.isEmpty() ? name : namespace + "/" + name) + "\" (see 'septum policy list')"));
    }

    /** A bare name: the policy of that name if exactly one namespace has one. */
    private PolicyInfo policyByName(String name) {
        int slash = name.indexOf('/');
        if (slash > 0) return policy(name.substring(0, slash), name.substring(slash + 1));
        List<PolicyInfo> matches = backend.policyRepository().list().stream()
                .filter(p -> p.name().equals(name)).collect(Collectors.toList());
        if (matches.isEmpty()) throw new HttpException(404, "no policy named \"" + name + "\" (see 'septum policy list')");
        if (matches.size() > 1) {
            throw new HttpException(409, "several policies are named \"" + name + "\": "
                    + matches.stream().map(PolicyInfo::qualifiedName).collect(Collectors.joining(", "))
                    + "; name the namespace with -n");
        }
        return matches.get(0);
    }

    private HttpResponse importPolicies(HttpRequest req) throws PolicyValidationException {
        String type = req.header("content-type");
        if (type != null && type.toLowerCase().contains("json") && !type.toLowerCase().contains("yaml")) {
            // JSON is YAML, so accept it, but only as text of policies
            LOG.log(System.Logger.Level.DEBUG, "policy import with JSON body");
        }
        String origin = origin(req.header("x-septum-origin"));
        String text = new String(req.body(), StandardCharsets.UTF_8);
        return ok(backend.policyRepository().importPolicies(origin, text, req.author()));
    }

    /** The origin as shown in errors and listings: printable, short. */
    static String origin(String header) {
        if (header == null || header.isBlank()) return "api";
        String s = header.strip().replaceAll("[\\p{Cntrl}]", "?");
        // only the cluster's copies carry cluster:
        return io.septum.api.policy.ClusterPolicies.localOrigin(s.length() > 256 ? s.substring(0, 256) : s);
    }

    // ---- bpf ---------------------------------------------------------------------------------------------

    private Object bpfPolicy(String idOrName) {
        Datapath dp = backend.datapath();
        long id;
        Optional<Endpoint> e = backend.has(EndpointManager.class) ? backend.endpointManager().get(idOrName) : Optional.empty();
        if (e.isPresent()) {
            id = e.get().id();
        } else {
            try {
                id = Long.parseLong(idOrName);
            } catch (NumberFormatException x) {
                throw new HttpException(404, "no endpoint \"" + idOrName + "\" (see 'septum endpoint list')");
            }
        }
        return dp.policy(id);
    }

    // ---- plumbing ----------------------------------------------------------------------------------------

    @FunctionalInterface
    private interface Call {
        Object call() throws Exception;
    }

    private HttpResponse get(String method, Call c) throws Exception {
        if (!method.equals("GET")) throw notAllowed(method, "GET");
        return ok(c.call());
    }

    private HttpResponse post(String method, Call c) throws Exception {
        if (!method.equals("POST")) throw notAllowed(method, "POST");
        return ok(c.call());
    }

    private HttpResponse ok(Object body) {
        return json(200, body);
    }

    HttpResponse json(int status, Object body) {
        try {
            return HttpResponse.json(status, mapper.writeValueAsBytes(body));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise the answer: " + e.getOriginalMessage(), e);
        }
    }

    <T> T read(HttpRequest req, Class<T> type) {
        if (req.body().length == 0) return null;
        try {
            return strict.readValue(req.body(), type);
        } catch (java.io.IOException e) {
            throw badJson(e);
        }
    }

    private <T> T read(HttpRequest req, TypeReference<T> type) {
        if (req.body().length == 0) return null;
        try {
            return strict.readValue(req.body(), type);
        } catch (java.io.IOException e) {
            throw badJson(e);
        }
    }

    private static HttpException badJson(java.io.IOException e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) root = root.getCause();
        String m = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
        if (root instanceof IllegalArgumentException && root.getMessage() != null) m = root.getMessage();
        return new HttpException(400, "bad JSON body: " + m);
    }

    private static HttpException notFound(HttpRequest req) {
        return new HttpException(404, "no such API: " + req.method() + " " + req.rawPath());
    }

    private static HttpException notAllowed(String method, String allowed) {
        return new HttpException(405, "method " + method + " not allowed here (allowed: " + allowed + ")");
    }
}
