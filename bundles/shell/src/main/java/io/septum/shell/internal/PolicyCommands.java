package io.septum.shell.internal;

import io.septum.api.Labels;
import io.septum.api.policy.CaseResult;
import io.septum.api.policy.ClusterPolicies;
import io.septum.api.policy.ClusterPolicy;
import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.ImportResult;
import io.septum.api.policy.PolicyEngine;
import io.septum.api.policy.PolicyInfo;
import io.septum.api.policy.PolicyRepository;
import io.septum.api.policy.PolicyRuleHits;
import io.septum.api.policy.PolicySet;
import io.septum.api.policy.PolicyValidationException;
import io.septum.api.policy.Protocol;
import io.septum.api.policy.TestCase;
import io.septum.api.policy.TraceResult;
import io.septum.view.EvalJson;
import io.septum.view.Views;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/**
 * {@code policy:import|list|get|delete|validate|eval|trace|suggest}; {@code --cluster} on import, list and delete
 * works on cluster mode's policies (in etcd, enforced by every node) through {@link ClusterPolicies}, as
 * {@code septum policy ... --cluster} and {@code /v1/cluster/policies} do.
 */
@Component(service = PolicyCommands.class)
@GogoCommand(scope = "policy", function = {"import", "list", "get", "delete", "validate", "eval", "trace", "suggest"})
public final class PolicyCommands extends ShellSupport {
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    volatile PolicyRepository repository;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    volatile PolicyEngine engine;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    volatile io.septum.api.datapath.Datapath datapath;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    volatile io.septum.api.flow.PolicySuggester suggester;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    volatile io.septum.api.EndpointManager endpointManager;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    volatile ClusterPolicies clusterPolicies;

    @Descriptor("Write a CiliumNetworkPolicy allowing exactly the connections observed to and from an endpoint")
    public void suggest(
            @Descriptor("output format: yaml or json") @Parameter(names = {"-o", "--output"}, absentValue = "yaml") String output,
            @Descriptor("endpoint id, namespace/name, or a unique name") @Parameter(names = "--endpoint", absentValue = "") String endpoint,
            @Descriptor("only flows since then: 30s, 5m, 1h, 1d or RFC 3339 (default: every flow held)") @Parameter(names = "--since", absentValue = "") String since) {
        if (blank(endpoint)) throw new ShellException("policy:suggest needs --endpoint ENDPOINT");
        String f = output == null ? "yaml" : output.trim().toLowerCase(java.util.Locale.ROOT);
        if (!f.equals("yaml") && !f.equals("json")) throw new ShellException("unknown output format \"" + output + "\" (expected yaml or json)");
        io.septum.api.Endpoint e = need(endpointManager, "the endpoint manager").get(endpoint)
                .orElseThrow(() -> new ShellException("no endpoint \"" + endpoint + "\" (see endpoint:list)"));
        java.time.Instant from = since(since);
        java.util.Map<String, Object> doc;
        try {
            doc = need(suggester, "the policy suggester (septum-observer)").suggest(String.valueOf(e.id()), from);
        } catch (IllegalStateException ex) {
            throw new ShellException(ex.getMessage());
        }
        if (f.equals("json")) {
            print("json", doc, () -> "");
            return;
        }
        try {
            out().print(new com.fasterxml.jackson.databind.ObjectMapper(new com.fasterxml.jackson.dataformat.yaml.YAMLFactory()
                    .disable(com.fasterxml.jackson.dataformat.yaml.YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
                    .enable(com.fasterxml.jackson.dataformat.yaml.YAMLGenerator.Feature.MINIMIZE_QUOTES)
                    .enable(com.fasterxml.jackson.dataformat.yaml.YAMLGenerator.Feature.ALWAYS_QUOTE_NUMBERS_AS_STRINGS))
                    .writeValueAsString(doc));
            out().flush();
        } catch (java.io.IOException ex) {
            throw new IllegalStateException("cannot print as YAML: " + ex.getMessage(), ex);
        }
    }

    /** Every rule with its hits; without a datapath every rule reads 0. */
    private List<PolicyRuleHits> hits() {
        io.septum.api.datapath.Datapath d = datapath;
        return PolicyRuleHits.of(repo().list(), d == null ? List.of() : d.ruleHits());
    }

    private PolicyRepository repo() {
        return need(repository, "the policy repository");
    }

    private PolicyEngine eng() {
        return need(engine, "the policy engine");
    }

    /** Who the remote shell's sessions act for; absent, every session is the console's. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    volatile SessionAuthors authors;

    /** A file's text; relative paths are relative to the session's directory. */
    static String read(CommandSession session, String file) {
        Path p = Path.of(file);
        if (!p.isAbsolute() && session != null && session.currentDir() != null) p = session.currentDir().resolve(p);
        try {
            return Files.readString(p, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ShellException("cannot read " + file + ": no such file");
        } catch (IOException e) {
            throw new ShellException("cannot read " + file + ": " + e);
        }
    }

    @Descriptor("Validate policy files and apply them (each file all or nothing); --cluster stores them in the cluster")
    public void _import(CommandSession session, @Descriptor(OUTPUT_DESCRIPTION) @Parameter(names = {"-o", "--output"}, absentValue = "table") String output,
            @Descriptor("store them in the cluster (cluster mode): every node enforces them; a name a local policy has is refused")
            @Parameter(names = "--cluster", presentValue = "true", absentValue = "false") boolean cluster,
            @Descriptor("YAML files of policies") String... files) {
        if (files.length == 0) throw new ShellException("policy:import needs at least one file");
        List<String> texts = new ArrayList<>();
        for (String f : files) texts.add(read(session, f));
        if (cluster) {
            importCluster(output, files, texts, SessionAuthors.of(authors, session));
            return;
        }
        int count = 0;
        long revision = -1;
        List<ImportResult> results = new ArrayList<>();
        for (int i = 0; i < files.length; i++) {
            try {
                ImportResult r = repo().importPolicies(ClusterPolicies.localOrigin(files[i]), texts.get(i),
                        SessionAuthors.of(authors, session));
                results.add(r);
                count += r.policies().size();
                revision = r.revision();
            } catch (PolicyValidationException e) {
                throw new ShellException(e.getMessage() + (i > 0 ? "\n" + files[i]
                        + " was not imported; the files before it were (revision " + revision + ")" : ""));
            }
        }
        String line = "Imported " + count + " policies, revision " + revision;
        print(output, results.size() == 1 ? results.get(0) : results, () -> line);
    }

    /** Each file all or nothing into the cluster's store, as a local import does into the repository. */
    private void importCluster(String output, String[] files, List<String> texts, String author) {
        ClusterPolicies c = cluster();
        json(output); // an unknown format is refused before anything is stored
        List<ClusterPolicy> stored = new ArrayList<>();
        for (int i = 0; i < files.length; i++) {
            try {
                stored.addAll(c.importPolicies(texts.get(i), author));
            } catch (PolicyValidationException e) {
                throw new ShellException(inFile(e, files[i]) + (stored.isEmpty() ? "" : "\n" + files[i]
                        + " was not stored; the files before it were"));
            }
        }
        print(output, stored, () -> "Stored " + stored.size() + " cluster policies; every node imports them (policy:list --cluster)");
    }

    /** The errors, each naming {@code file} (the cluster's store only sees the text) rather than the store. */
    static String inFile(PolicyValidationException e, String file) {
        if (e.errors().isEmpty()) return file + ": " + e.getMessage();
        return e.errors().stream().map(v -> new io.septum.api.policy.ValidationError(file, v.document(), v.kind(),
                v.policy(), v.field(), v.reason()).message()).collect(Collectors.joining("\n"));
    }

    private ClusterPolicies cluster() {
        return need(clusterPolicies, "cluster policies (standalone: no etcdEndpoints in etc/io.septum.cluster.cfg)");
    }

    @Descriptor("List the agent's policies with the packets their rules decided (HITS); --rules: one row per rule;"
            + " --cluster: the cluster's policies with the revision each node has realised")
    public void list(
            @Descriptor(OUTPUT_DESCRIPTION) @Parameter(names = {"-o", "--output"}, absentValue = "table") String output,
            @Descriptor("one row per rule, with its hits (0: never matched)") @Parameter(names = "--rules", absentValue = "false", presentValue = "true") boolean rules,
            @Descriptor("the cluster's policies, with the revision each node has realised")
            @Parameter(names = "--cluster", absentValue = "false", presentValue = "true") boolean cluster) {
        if (cluster) {
            print(output, cluster().list(), Views::clusterPolicies);
            return;
        }
        List<io.septum.api.policy.PolicyRuleHits> hits = hits();
        if (rules) {
            print(output, hits, Views::ruleHits);
            return;
        }
        // Rejected API objects are listed too, as rows whose note gives the reason (RejectedPolicy.asPolicyInfo).
        List<PolicyInfo> list = new java.util.ArrayList<>(repo().list());
        repo().rejected().forEach(r -> list.add(r.asPolicyInfo()));
        print(output, list, l -> Views.policies(l, hits));
    }

    @Descriptor("Show a policy: its rules with their ids, notes, the document")
    public void get(
            @Descriptor(OUTPUT_DESCRIPTION) @Parameter(names = {"-o", "--output"}, absentValue = "table") String output,
            @Descriptor("its namespace; - for cluster-wide (default: the only policy of that name)")
            @Parameter(names = {"-n", "--namespace"}, absentValue = "") String namespace,
            @Descriptor("policy name (or namespace/name)") String name) {
        print(output, find(namespace, name), p -> Views.policy(p, hits()));
    }

    @Descriptor("Delete a policy; --cluster deletes it from the cluster's store (every node drops it)")
    public void delete(CommandSession session,
            @Descriptor(OUTPUT_DESCRIPTION) @Parameter(names = {"-o", "--output"}, absentValue = "table") String output,
            @Descriptor("its namespace; - for cluster-wide (default: the only policy of that name)")
            @Parameter(names = {"-n", "--namespace"}, absentValue = "") String namespace,
            @Descriptor("delete it from the cluster's store: every node drops it")
            @Parameter(names = "--cluster", absentValue = "false", presentValue = "true") boolean cluster,
            @Descriptor("policy name (or namespace/name)") String name) {
        if (cluster) {
            deleteCluster(output, namespace, name);
            return;
        }
        PolicyInfo p = find(namespace, name);
        try {
            ClusterPolicies.refuseLocalChange(p.origin(), p.qualifiedName(), "delete it from the store: policy:delete --cluster");
        } catch (IllegalStateException e) {
            throw new ShellException(e.getMessage());
        }
        long revision = repo().delete(p.namespace(), p.name(), SessionAuthors.of(authors, session));
        print(output, java.util.Map.of("revision", revision), () -> "Deleted policy " + name + ", revision " + revision);
    }

    /** Without a namespace, {@code ns/name} names one; {@code -} or no namespace is a cluster-wide kind's. */
    private void deleteCluster(String output, String namespace, String name) {
        String ns = blank(namespace) || namespace.equals("-") ? "" : namespace.strip();
        String n = name;
        if (blank(namespace) && name.indexOf('/') > 0) {
            ns = name.substring(0, name.indexOf('/'));
            n = name.substring(name.indexOf('/') + 1);
        }
        String qualified = ns.isEmpty() ? n : ns + "/" + n;
        json(output);
        if (!cluster().delete(ns, n)) {
            throw new ShellException("no cluster policy \"" + qualified + "\" (see policy:list --cluster)");
        }
        print(output, Map.of("deleted", qualified), () -> "Deleted cluster policy " + qualified + "; every node drops it");
    }

    private PolicyInfo find(String namespace, String name) {
        String ns = namespace;
        String n = name;
        if (blank(ns) && name.indexOf('/') > 0) {
            ns = name.substring(0, name.indexOf('/'));
            n = name.substring(name.indexOf('/') + 1);
        }
        if (!blank(ns)) {
            String namespaceName = ns.equals("-") ? "" : ns;
            String policyName = n;
            return repo().get(namespaceName, policyName).orElseThrow(() -> new ShellException("no policy \""
                    + (namespaceName.isEmpty() ? policyName : namespaceName + "/" + policyName) + "\" (see policy:list)"));
        }
        String policyName = n;
        List<PolicyInfo> matches = repo().list().stream().filter(p -> p.name().equals(policyName)).toList();
        if (matches.isEmpty()) throw new ShellException("no policy named \"" + n + "\" (see policy:list)");
        if (matches.size() > 1) {
            throw new ShellException("several policies are named \"" + n + "\": " + matches.stream()
                    .map(PolicyInfo::qualifiedName).collect(Collectors.joining(", ")) + "; name the namespace with -n");
        }
        return matches.get(0);
    }

    @Descriptor("Check policy files without applying them")
    public void validate(CommandSession session, @Descriptor("YAML files of policies") String... files) {
        if (files.length == 0) throw new ShellException("policy:validate needs at least one file");
        List<String> errors = new ArrayList<>();
        for (String f : files) {
            try {
                PolicySet set = eng().parse(f, read(session, f));
                out().println(f + ": valid (" + set.policies().size() + " policies)");
            } catch (PolicyValidationException e) {
                errors.add(e.getMessage());
            } catch (ShellException e) {
                errors.add(e.getMessage());
            }
        }
        if (!errors.isEmpty()) throw new ShellException(String.join("\n", errors));
    }

    @Descriptor("Judge a test case's probes offline (corpus format); http: probes are judged at L7")
    public void eval(CommandSession session,
            @Descriptor(OUTPUT_DESCRIPTION) @Parameter(names = {"-o", "--output"}, absentValue = "table") String output,
            @Descriptor("enforcement mode: default, always or never")
            @Parameter(names = {"--enforcement"}, absentValue = "default") String enforcement,
            @Descriptor("judge every TCP probe as an HTTP request with this method (e.g. PUT), at L7")
            @Parameter(names = {"--http-method"}, absentValue = "") String httpMethod,
            @Descriptor("the path of that request (default: /)")
            @Parameter(names = {"--http-path"}, absentValue = "") String httpPath,
            @Descriptor("a header of that request, 'Name: value' (Host: sets the host that host rules match)")
            @Parameter(names = {"--http-header"}, absentValue = "") String httpHeader,
            @Descriptor("the test case file") String file) {
        EnforcementMode mode;
        try {
            mode = EnforcementMode.parse(enforcement);
        } catch (IllegalArgumentException e) {
            throw new ShellException(e.getMessage());
        }
        Map<String, String> http = httpProbe(httpMethod, httpPath, httpHeader);
        CaseResult r;
        try {
            TestCase c = eng().parseCase(file, read(session, file));
            if (http != null) c = withHttp(c, http);
            r = eng().evaluate(c, mode);
        } catch (PolicyValidationException e) {
            throw new ShellException(e.getMessage());
        }
        CaseResult result = r;
        if (json(output)) {
            out().println(toJson(EvalJson.of(r)));
        } else {
            out().print(Views.probes(result).render());
            out().println(r.passed() + " passed, " + r.failed() + " failed");
        }
        out().flush();
    }

    /** The probe {@code http} map for {@code --http-*} (as the CLI builds it), or null when none was given. */
    static Map<String, String> httpProbe(String method, String path, String header) {
        if (blank(method) && blank(path) && blank(header)) return null;
        Map<String, String> http = new java.util.LinkedHashMap<>();
        String m = blank(method) ? "GET" : method.strip();
        if (!m.matches("[A-Za-z]+")) throw new ShellException("--http-method \"" + method + "\" is not an HTTP method (e.g. GET)");
        String p = blank(path) ? "/" : path.strip();
        if (!p.startsWith("/")) throw new ShellException("--http-path \"" + path + "\" must start with /");
        http.put("method", m);
        http.put("path", p);
        if (!blank(header)) {
            int c = header.indexOf(':');
            if (c <= 0 || header.contains("\n")) throw new ShellException("--http-header \"" + header + "\" is not 'Name: value'");
            if (header.substring(0, c).strip().equalsIgnoreCase("host")) http.put("host", header.substring(c + 1).strip());
            http.put("headers", header.strip());
        }
        return http;
    }

    /** The request that {@link #httpProbe} describes. */
    static io.septum.api.policy.HttpRequestInfo request(Map<String, String> http) {
        Map<String, List<String>> headers = new java.util.LinkedHashMap<>();
        String hs = http.get("headers");
        if (hs != null) {
            int c = hs.indexOf(':');
            headers.put(hs.substring(0, c).strip().toLowerCase(Locale.ROOT), List.of(hs.substring(c + 1).strip()));
        }
        return new io.septum.api.policy.HttpRequestInfo(http.get("method"), http.get("path"), http.get("host"), headers);
    }

    /** The case with every TCP probe made this HTTP request. */
    static TestCase withHttp(TestCase c, Map<String, String> http) {
        List<TestCase.Probe> probes = new java.util.ArrayList<>();
        for (TestCase.Probe p : c.probes()) {
            boolean tcp = "TCP".equalsIgnoreCase(p.protocol());
            probes.add(new TestCase.Probe(p.from(), p.to(), p.port(), p.protocol(), tcp ? http : p.http(), p.expect(),
                    p.portName()));
        }
        return new TestCase(c.name(), c.description(), c.namespaces(), c.endpoints(), c.external(), c.policies(), probes);
    }

    @Descriptor("Explain which rule decides traffic from source to destination labels, in both directions")
    public void trace(
            @Descriptor(OUTPUT_DESCRIPTION) @Parameter(names = {"-o", "--output"}, absentValue = "table") String output,
            @Descriptor("source labels, comma-separated (k8s:org=empire,class=tiefighter; no source means any)")
            @Parameter(names = {"-s", "--src-labels"}, absentValue = "") String src,
            @Descriptor("destination labels, comma-separated")
            @Parameter(names = {"-d", "--dst-labels"}, absentValue = "") String dst,
            @Descriptor("destination port and protocol, e.g. 80/TCP (default: any)")
            @Parameter(names = {"--dport"}, absentValue = "0/ANY") String dport,
            @Descriptor("trace one HTTP request with this method (e.g. PUT) at L7 as well (TCP)")
            @Parameter(names = {"--http-method"}, absentValue = "") String httpMethod,
            @Descriptor("the path of that request (default: /)")
            @Parameter(names = {"--http-path"}, absentValue = "") String httpPath,
            @Descriptor("a header of that request, 'Name: value'")
            @Parameter(names = {"--http-header"}, absentValue = "") String httpHeader) {
        if (blank(src) || blank(dst)) {
            throw new ShellException("policy:trace needs --src-labels and --dst-labels "
                    + "(e.g. policy:trace -s org=empire,class=tiefighter -d class=deathstar --dport 80/TCP)");
        }
        String[] pp = dport.split("/", 2);
        int port;
        try {
            port = Integer.parseInt(pp[0].trim());
        } catch (NumberFormatException e) {
            throw new ShellException("--dport \"" + dport + "\" is not PORT[/PROTOCOL] (e.g. 80/TCP)");
        }
        if (port < 0 || port > 65535) throw new ShellException("--dport " + port + " is out of range 0-65535");
        Protocol protocol;
        Labels source;
        Labels destination;
        try {
            protocol = Protocol.parse(pp.length > 1 ? pp[1].trim().toUpperCase(Locale.ROOT) : "TCP");
            source = Labels.forTrace(List.of(src));
            destination = Labels.forTrace(List.of(dst));
        } catch (IllegalArgumentException e) {
            throw new ShellException(e.getMessage());
        }
        Map<String, String> http = httpProbe(httpMethod, httpPath, httpHeader);
        if (http != null && (protocol != Protocol.TCP || port == 0)) throw new ShellException("an HTTP trace needs --dport PORT/TCP");
        PolicyRepository repo = repo();
        TraceResult r = http == null ? repo.current().trace(source, destination, port, protocol, repo.mode())
                : repo.current().trace(source, destination, port, protocol, repo.mode(), request(http));
        print(output, r, Views::trace);
    }
}
