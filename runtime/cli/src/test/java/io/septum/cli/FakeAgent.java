package io.septum.cli;

import io.septum.api.ComponentStatus;
import io.septum.api.Endpoint;
import io.septum.api.EndpointManager;
import io.septum.api.EndpointSpec;
import io.septum.api.EndpointState;
import io.septum.api.Identity;
import io.septum.api.IdentityAllocator;
import io.septum.api.IpcacheEntry;
import io.septum.api.Labels;
import io.septum.api.SourceHealth;
import io.septum.api.datapath.BpfEndpoint;
import io.septum.api.datapath.BpfPolicyEntry;
import io.septum.api.datapath.Datapath;
import io.septum.api.datapath.DatapathEndpoint;
import io.septum.api.datapath.DatapathStats;
import io.septum.api.policy.Decision;
import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.ImportResult;
import io.septum.api.policy.PolicyEngine;
import io.septum.api.policy.PolicyEntry;
import io.septum.api.policy.PolicyInfo;
import io.septum.api.policy.PolicyRepository;
import io.septum.api.policy.PolicySet;
import io.septum.api.policy.PolicyValidationException;
import io.septum.api.policy.Protocol;
import io.septum.api.policy.RuleRef;
import io.septum.api.policy.TraceResult;
import io.septum.api.policy.ValidationError;
import io.septum.apiserver.internal.Backend;
import io.septum.testsupport.StubPolicySet;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** In-memory stand-ins for the agent's services, behind the real API server, for client and CLI tests. */
final class FakeAgent implements Backend {
    final List<Endpoint> endpoints = new CopyOnWriteArrayList<>();
    final Map<String, Map<String, String>> namespaces = new LinkedHashMap<>();
    final List<Identity> identities = new CopyOnWriteArrayList<>();
    final List<PolicyInfo> policies = new CopyOnWriteArrayList<>();
    final List<String> imports = new CopyOnWriteArrayList<>();
    final List<Labels> traced = new CopyOnWriteArrayList<>();
    final List<io.septum.api.policy.HttpRequestInfo> tracedHttp = new CopyOnWriteArrayList<>();
    final List<String> added = new CopyOnWriteArrayList<>();
    /** "namespace/name" of each cluster policy deleted. */
    final List<String> clusterDeletes = new CopyOnWriteArrayList<>();
    long revision = 1;
    long readySince = System.currentTimeMillis();
    final long startedAt = readySince - 1234;

    FakeAgent() {
        endpoints.add(endpoint(7, "deathstar", "default", 300, "10.199.0.2"));
        endpoints.add(endpoint(8, "xwing", "default", 301, "10.199.0.3"));
        endpoints.add(endpoint(9, "xwing", "rebels", 302, "10.199.0.4"));
        identities.add(new Identity(1, List.of("reserved:host"), true));
        identities.add(new Identity(300, List.of("k8s:io.kubernetes.pod.namespace=default", "netns:class=deathstar"), false));
        namespaces.put("prod", Map.of("team", "prod"));
    }

    static Endpoint endpoint(long id, String name, String ns, long identity, String ip) {
        return new Endpoint(id, name, ns, "netns", List.of("k8s:io.kubernetes.pod.namespace=" + ns, "netns:app=" + name),
                identity, EndpointState.READY, List.of(ip, "fd00::" + id), "sept-t" + id, 100 + (int) id,
                "/run/netns/sept-t" + id, true, false, Map.of("netns", "sept-t" + id), 1, null);
    }

    // ---- Backend -----------------------------------------------------------------------------------------

    @Override
    public io.septum.api.policy.ClusterPolicies clusterPolicies() {
        return new io.septum.api.policy.ClusterPolicies() {
            @Override
            public List<io.septum.api.policy.ClusterPolicy> importPolicies(String text, String author)
                    throws io.septum.api.policy.PolicyValidationException {
                // what the store answers for refused text: it never saw the file's name
                throw new io.septum.api.policy.PolicyValidationException(List.of(new io.septum.api.policy.ValidationError(
                        "cluster", 1, "CiliumNetworkPolicy", "default/x", "spec.ingress", "bad rule")));
            }

            @Override
            public boolean delete(String namespace, String name) {
                clusterDeletes.add(namespace + "/" + name);
                return name.startsWith("cw");
            }

            @Override
            public List<io.septum.api.policy.ClusterPolicy> list() {
                return List.of();
            }
        };
    }

    final List<io.septum.api.service.Service> services = new CopyOnWriteArrayList<>();

    @Override
    public io.septum.api.service.ServiceManager serviceManager() {
        return new io.septum.api.service.ServiceManager() {
            @Override
            public io.septum.api.service.Service upsert(io.septum.api.service.ServiceSpec spec)
                    throws io.septum.api.service.ServiceValidationException {
                if (spec.frontend() == null || !spec.frontend().contains(":")) {
                    throw new io.septum.api.service.ServiceValidationException("service default/" + spec.name()
                            + ": field frontend: \"" + spec.frontend() + "\" has no port (expected IP:PORT)");
                }
                String[] fe = spec.frontend().split(":");
                java.util.List<io.septum.api.service.ServiceBackend> bs = new java.util.ArrayList<>();
                for (String t : spec.backends()) {
                    Endpoint e = endpoints.stream().filter(x -> x.name().equals(t)).findFirst().orElse(null);
                    bs.add(e == null ? new io.septum.api.service.ServiceBackend("default/" + t, 80, null, "not-found", null)
                            : new io.septum.api.service.ServiceBackend("default/" + t, 80, e.addresses().get(0), "active", null));
                }
                io.septum.api.service.Service s = new io.septum.api.service.Service(services.size() + 1, spec.name(),
                        "default", fe[0], Integer.parseInt(fe[1]), "TCP", "ClusterIP", bs, "api");
                services.add(s);
                return s;
            }

            @Override
            public boolean delete(String idOrName) {
                return services.removeIf(s -> s.qualifiedName().equals(idOrName));
            }

            @Override
            public java.util.List<io.septum.api.service.Service> list() {
                return java.util.List.copyOf(services);
            }

            @Override
            public java.util.Optional<io.septum.api.service.Service> get(String idOrName) {
                return services.stream().filter(s -> s.name().equals(idOrName) || s.qualifiedName().equals(idOrName)
                        || Long.toString(s.id()).equals(idOrName)).findFirst();
            }
        };
    }

    @Override
    public EndpointManager endpointManager() {
        return endpointManager;
    }

    @Override
    public IdentityAllocator identityAllocator() {
        return identityAllocator;
    }

    @Override
    public PolicyRepository policyRepository() {
        return repository;
    }

    /** The policy engine, when a test sets one (the real one, found with ServiceLoader). */
    volatile PolicyEngine engine;
    /** policy impact / diff, when a test sets them. */
    volatile io.septum.api.flow.PolicyImpact impact;

    @Override
    public PolicyEngine policyEngine() {
        if (engine != null) return engine;
        throw Backend.unavailable("the policy engine");
    }

    @Override
    public io.septum.api.flow.PolicyImpact policyImpact() {
        return impact != null ? impact : Backend.super.policyImpact();
    }

    @Override
    public Datapath datapath() {
        return datapath;
    }

    public List<ComponentStatus> health() {
        return List.of(ComponentStatus.ok("datapath", "3 interfaces"));
    }

    public OptionalLong readySince() {
        return OptionalLong.of(readySince);
    }

    public long startedAt() {
        return startedAt;
    }

    public String version() {
        return "0.1.0-test";
    }

    /** The API server's line in status (the test sets it to its server's). */
    volatile java.util.function.Supplier<ComponentStatus> serverHealth = () -> null;

    /** The real assembly (septum-status) over this fake's services, as the agent's status component does it. */
    @Override
    public io.septum.api.AgentStatusService statusService() {
        FakeAgent self = this;
        return new io.septum.status.internal.StatusAssembler(new io.septum.status.internal.StatusAssembler.Sources() {
            public PolicyRepository policyRepository() { return self.policyRepository(); }
            public EndpointManager endpointManager() { return self.endpointManager(); }
            public IdentityAllocator identityAllocator() { return self.identityAllocator(); }
            public boolean datapathRunning() { return self.datapath() != null; }
            public io.septum.api.flow.FlowObserver flowObserver() { return self.has(io.septum.api.flow.FlowObserver.class) ? self.flowObserver() : null; }
            public List<io.septum.api.HealthReporter> healthReporters() {
                List<io.septum.api.HealthReporter> out = new java.util.ArrayList<>();
                self.health().forEach(c -> out.add(() -> c));
                out.add(() -> serverHealth.get()); // the API server's own line, as its component reports it
                return out;
            }
            public OptionalLong readySince() { return self.readySince(); }
            public long startedAt() { return self.startedAt(); }
            public String version() { return self.version(); }
        });
    }

    // ---- services ----------------------------------------------------------------------------------------

    final EndpointManager endpointManager = new EndpointManager() {
        @Override
        public List<Endpoint> list() {
            return List.copyOf(endpoints);
        }

        @Override
        public Endpoint setAudit(String idOrName, boolean audit) {
            throw new java.util.NoSuchElementException("no endpoint \"" + idOrName + "\" (fake agent)");
        }

        @Override
        public Optional<Endpoint> get(String idOrName) {
            List<Endpoint> m = endpoints.stream().filter(e -> String.valueOf(e.id()).equals(idOrName)
                    || e.qualifiedName().equals(idOrName)).toList();
            if (m.isEmpty()) m = endpoints.stream().filter(e -> e.name().equals(idOrName)).toList();
            return m.size() == 1 ? Optional.of(m.get(0)) : Optional.empty();
        }

        @Override
        public void add(String source, EndpointSpec spec) {
            if (!source.equals("netns")) throw new IllegalArgumentException("no endpoint source \"" + source + "\"");
            added.add(source + ":" + spec.sourceId() + ":" + spec.netns() + ":" + new java.util.TreeMap<>(spec.labels())
                    + (spec.ports().isEmpty() ? "" : ":" + spec.ports()));
            String ns = spec.namespace() == null ? "default" : spec.namespace();
            endpoints.add(endpoint(20 + endpoints.size(), spec.name(), ns, 0, "10.199.1.1"));
        }

        @Override
        public void delete(String idOrName) {
            Endpoint e = get(idOrName).orElseThrow(() -> new NoSuchElementException("no endpoint " + idOrName));
            endpoints.remove(e);
        }

        @Override
        public List<SourceHealth> sources() {
            return List.of(new SourceHealth("netns", true, 1, null));
        }

        @Override
        public void setNamespaceLabels(String namespace, Map<String, String> labels) {
            if (labels.isEmpty()) namespaces.remove(namespace);
            else namespaces.put(namespace, Map.copyOf(labels));
        }

        @Override
        public Map<String, Map<String, String>> namespaceLabels() {
            return Map.copyOf(namespaces);
        }

        @Override
        public List<IpcacheEntry> ipcache() {
            return List.of(new IpcacheEntry("10.199.0.2/32", 300, "endpoint"));
        }
    };

    final IdentityAllocator identityAllocator = new IdentityAllocator() {
        @Override
        public Identity allocate(Labels labels) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void release(long id) {
        }

        @Override
        public Optional<Identity> get(long id) {
            return identities.stream().filter(i -> i.id() == id).findFirst();
        }

        @Override
        public Optional<Identity> lookup(Labels labels) {
            return Optional.empty();
        }

        @Override
        public List<Identity> list() {
            return List.copyOf(identities);
        }
    };

    private static final Pattern NAME = Pattern.compile("(?m)^\\s+name:\\s*\"?([\\w.-]+)\"?");
    private static final Pattern NAMESPACE = Pattern.compile("(?m)^\\s+namespace:\\s*\"?([\\w.-]+)\"?");

    /** The author the API server passed with each import and delete (from the socket's peer credentials). */
    final List<String> authors = new CopyOnWriteArrayList<>();
    /** ui login, when a test sets it. */
    volatile io.septum.api.ui.UiLogin uiLogin;

    @Override
    public io.septum.api.ui.UiLogin uiLogin() {
        return uiLogin != null ? uiLogin : Backend.super.uiLogin();
    }

    /** policy history / rollback, when a test sets them. */
    volatile io.septum.api.policy.PolicyHistory history;

    @Override
    public io.septum.api.policy.PolicyHistory policyHistory() {
        return history != null ? history : Backend.super.policyHistory();
    }

    final PolicyRepository repository = new PolicyRepository() {
        @Override
        public ImportResult importPolicies(String origin, String text, String author) throws PolicyValidationException {
            authors.add(String.valueOf(author));
            return importPolicies(origin, text);
        }

        @Override
        public long delete(String namespace, String name, String author) {
            authors.add(String.valueOf(author));
            return delete(namespace, name);
        }

        @Override
        public synchronized ImportResult importPolicies(String origin, String text) throws PolicyValidationException {
            imports.add(origin);
            if (text.contains("port: \"99999\"")) {
                throw new PolicyValidationException(List.of(new ValidationError(origin, 1, "CiliumNetworkPolicy",
                        "default/bad", "spec.ingress[0].toPorts[0].ports[0].port", "port 99999 is out of range 1-65535")));
            }
            List<String> names = new ArrayList<>();
            revision++;
            for (String doc : text.split("(?m)^---\\s*$")) {
                Matcher n = NAME.matcher(doc);
                if (!n.find()) continue;
                Matcher ns = NAMESPACE.matcher(doc);
                String namespace = ns.find() ? ns.group(1) : "default";
                policies.removeIf(p -> p.name().equals(n.group(1)) && p.namespace().equals(namespace));
                policies.add(new PolicyInfo(n.group(1), namespace, "CiliumNetworkPolicy", revision, origin,
                        List.of(new RuleRef(1, namespace + "/" + n.group(1), "ingress", 0, doc.contains("http:"))),
                        doc.contains("http:") ? List.of("a note from the agent") : List.of(), doc));
                names.add(namespace + "/" + n.group(1));
            }
            return new ImportResult(revision, names);
        }

        @Override
        public List<PolicyInfo> list() {
            return List.copyOf(policies);
        }

        @Override
        public Optional<PolicyInfo> get(String namespace, String name) {
            return policies.stream().filter(p -> p.name().equals(name) && p.namespace().equals(namespace)).findFirst();
        }

        @Override
        public synchronized long delete(String namespace, String name) {
            policies.removeIf(p -> p.name().equals(name) && p.namespace().equals(namespace));
            return ++revision;
        }

        @Override
        public long revision() {
            return revision;
        }

        @Override
        public PolicySet current() {
            return set;
        }

        @Override
        public EnforcementMode mode() {
            return EnforcementMode.DEFAULT;
        }
    };

    final PolicySet set = new StubPolicySet() {
        @Override
        public List<PolicyInfo> policies() {
            return List.copyOf(policies);
        }

        @Override
        public TraceResult trace(Labels source, Labels destination, int port, Protocol protocol, EnforcementMode mode) {
            traced.add(source);
            traced.add(destination);
            boolean allowed = source.get("any", "org").map("empire"::equals).orElse(false);
            Decision egress = new Decision(true, "no rule selects endpoint (default allow)", 0, false);
            Decision ingress = new Decision(allowed, allowed ? "default/rule1 ingress[0]" : "default deny: no rule allows",
                    allowed ? 1 : 0, false);
            return new TraceResult(source.asStrings(), destination.asStrings(), port, protocol.name(), egress, ingress,
                    allowed, List.of("Egress from " + source + ": " + egress.rule(),
                    "Ingress to " + destination + " on " + port + "/" + protocol + ": " + ingress.rule()));
        }

        @Override
        public TraceResult trace(Labels source, Labels destination, int port, Protocol protocol, EnforcementMode mode,
                                 io.septum.api.policy.HttpRequestInfo request) {
            tracedHttp.add(request);
            return trace(source, destination, port, protocol, mode);
        }
    };

    final Datapath datapath = new Datapath() {
        @Override
        public void upsertEndpoint(DatapathEndpoint endpoint, List<PolicyEntry> entries) {
        }

        @Override
        public void syncServices(List<io.septum.api.service.Service> services) {
        }

        @Override
        public List<io.septum.api.service.Service> services() {
            return List.of();
        }

        @Override
        public void removeEndpoint(long endpointId) {
        }

        @Override
        public void syncIpcache(List<IpcacheEntry> entries) {
        }

        @Override
        public List<BpfEndpoint> restored() {
            return List.of();
        }

        @Override
        public List<BpfEndpoint> endpoints() {
            return List.of(new BpfEndpoint(107, 7, 300, BpfEndpoint.FLAG_INGRESS_ENFORCED, "sept-t7"));
        }

        @Override
        public List<BpfPolicyEntry> policy(long endpointId) {
            if (endpointId != 7) return List.of();
            return List.of(new BpfPolicyEntry("INGRESS", 301, "TCP", "80", "ALLOW", 1, 42));
        }

        @Override
        public List<IpcacheEntry> ipcache() {
            return List.of(new IpcacheEntry("10.199.0.2/32", 300, "endpoint"), new IpcacheEntry("0.0.0.0/0", 2, "reserved"));
        }

        @Override
        public DatapathStats stats() {
            return new DatapathStats(true, 3, 10, 0, "/sys/fs/bpf/septum", null);
        }
    };
}
