package io.septum.cli;

import io.septum.api.policy.CaseResult;
import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.ClusterPolicy;
import io.septum.api.policy.ImportResult;
import io.septum.api.policy.PolicyEngine;
import io.septum.api.policy.PolicyInfo;
import io.septum.api.policy.PolicyRuleHits;
import io.septum.api.policy.PolicySet;
import io.septum.api.policy.PolicyValidationException;
import io.septum.api.policy.TestCase;
import io.septum.api.policy.TraceResult;
import io.septum.api.policy.ValidationError;
import io.septum.view.EvalJson;
import io.septum.view.Views;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "policy", mixinStandardHelpOptions = true, synopsisSubcommandLabel = "COMMAND",
        description = "Import, list, show, delete, validate, evaluate and trace network policies; preview a draft's"
                + " impact and diff; stage (audit) and promote; history and rollback.",
        subcommands = {PolicyCommand.ImportCmd.class, PolicyCommand.ListCmd.class, PolicyCommand.GetCmd.class,
                PolicyCommand.DeleteCmd.class, PolicyCommand.ValidateCmd.class, PolicyCommand.EvalCmd.class,
                PolicyCommand.TraceCmd.class, PolicyCommand.SuggestCmd.class, PolicyDraftCommands.ImpactCmd.class,
                PolicyDraftCommands.DiffCmd.class, PolicyHistoryCommands.HistoryCmd.class,
                PolicyHistoryCommands.RollbackCmd.class, PolicyHistoryCommands.StageCmd.class,
                PolicyHistoryCommands.PromoteCmd.class})
final class PolicyCommand {

    /** A file's text and the name errors give it. */
    record Source(String origin, String text) {
    }

    static Source read(SeptumCli cli, String file) {
        if (file.equals("-")) {
            try {
                return new Source("stdin", new String(cli.in().readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new CliException(CliException.INVALID_INPUT, "cannot read standard input: " + e.getMessage());
            }
        }
        Path p = Path.of(file);
        try {
            return new Source(file, Files.readString(p, StandardCharsets.UTF_8));
        } catch (NoSuchFileException e) {
            throw new CliException(CliException.INVALID_INPUT, "cannot read " + file + ": no such file");
        } catch (IOException e) {
            throw new CliException(CliException.INVALID_INPUT, "cannot read " + file + ": " + e);
        }
    }

    /** The offline engine if this build has one. */
    static Optional<PolicyEngine> localEngine() {
        return ServiceLoader.load(PolicyEngine.class, PolicyCommand.class.getClassLoader()).findFirst();
    }

    /** The offline engine from septum-policy on the class path, found through ServiceLoader. */
    static PolicyEngine engine() {
        Iterator<PolicyEngine> it = ServiceLoader.load(PolicyEngine.class, PolicyCommand.class.getClassLoader()).iterator();
        if (!it.hasNext()) {
            throw new CliException(1, "the policy engine (septum-policy) is not on the class path of this build;"
                    + " offline commands need it (rebuild without -Dseptum.runtime.nopolicy)");
        }
        return it.next();
    }

    /** {@code ns/name} path for one policy, or the bare name that the agent resolves when it is unique. */
    static String path(String name, String namespace) {
        int slash = name.indexOf('/');
        if (namespace == null && slash > 0) {
            namespace = name.substring(0, slash);
            name = name.substring(slash + 1);
        }
        if (namespace == null) return "/v1/policies/" + AgentClient.segment(name);
        String ns = namespace.isEmpty() ? "-" : namespace;
        return "/v1/policies/" + AgentClient.segment(ns) + "/" + AgentClient.segment(name);
    }

    static void printErrors(PrintWriter err, List<ValidationError> errors) {
        for (ValidationError e : errors) err.println(e.message());
        err.flush();
    }

    @Command(name = "import", mixinStandardHelpOptions = true,
            description = "Validate policy files and apply them in the agent (each file all or nothing).")
    static final class ImportCmd extends AgentCommand {
        @Parameters(paramLabel = "FILE", arity = "1..*", description = "YAML files of policies; - reads standard input.")
        List<String> files;

        @Option(names = "--cluster", description = {"Store them in the cluster (cluster mode): every node enforces them.",
                "A name a local policy has is refused; see docs/cluster.md."})
        boolean cluster;

        @Override
        public Integer call() {
            SeptumCli cli = cli();
            List<Source> sources = new ArrayList<>();
            for (String f : files) sources.add(read(cli, f));
            if (cluster) return importCluster(cli, sources);
            if (sources.size() > 1) {
                // each file is applied all or nothing by the agent; checking every file first makes the whole
                // command all or nothing for the usual mistakes (the agent still validates each file itself)
                Optional<PolicyEngine> local = localEngine();
                if (local.isPresent()) {
                    List<ValidationError> errors = new ArrayList<>();
                    for (Source s : sources) {
                        try {
                            local.get().parse(s.origin(), s.text());
                        } catch (PolicyValidationException e) {
                            errors.addAll(e.errors());
                        }
                    }
                    if (!errors.isEmpty()) {
                        printErrors(cli.err(), errors);
                        cli.err().println("septum: nothing was imported");
                        return CliException.INVALID_INPUT;
                    }
                }
            }
            List<ImportResult> results = new ArrayList<>();
            int count = 0;
            long revision = -1;
            for (Source s : sources) {
                try {
                    ImportResult r = cli.client().post("/v1/policies", s.text(), s.origin(), ImportResult.class);
                    results.add(r);
                    count += r.policies().size();
                    revision = r.revision();
                } catch (AgentException e) {
                    if (e.errors().isEmpty()) throw e;
                    printErrors(cli.err(), e.errors());
                    if (!results.isEmpty()) {
                        cli.err().println("septum: " + s.origin() + " was not imported; the files before it were (revision "
                                + revision + ")");
                    }
                    return CliException.INVALID_INPUT;
                }
            }
            String done = "Imported " + count + " policies, revision " + revision;
            cli.output().result(results.size() == 1 ? results.get(0) : results, () -> done);
            return 0;
        }
    }

    /** Each file all or nothing into the cluster's store, as a local import does into the agent. */
    static int importCluster(SeptumCli cli, List<Source> sources) {
        List<ClusterPolicy> stored = new ArrayList<>();
        for (Source s : sources) {
            try {
                stored.addAll(cli.client().post("/v1/cluster/policies", s.text(), s.origin(),
                        new com.fasterxml.jackson.core.type.TypeReference<List<ClusterPolicy>>() { }));
            } catch (AgentException e) {
                if (e.errors().isEmpty()) throw e;
                // the store only saw the text: the errors name the file it came from, as a local import's do
                printErrors(cli.err(), e.errors().stream().map(v -> new ValidationError(s.origin(), v.document(), v.kind(),
                        v.policy(), v.field(), v.reason())).toList());
                if (!stored.isEmpty()) cli.err().println("septum: " + s.origin() + " was not stored; the files before it were");
                return CliException.INVALID_INPUT;
            }
        }
        cli.output().result(stored, () -> "Stored " + stored.size() + " cluster policies; every node imports them (policy list --cluster)");
        return 0;
    }

    static List<PolicyRuleHits> hits(SeptumCli cli) {
        return cli.client().list("/v1/policy/hits", PolicyRuleHits.class);
    }

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = {"List the agent's policies, with the packets their rules decided (HITS).",
                    "--rules lists every rule with its hits: 0 means it never matched."})
    static final class ListCmd extends AgentCommand {
        @Option(names = "--rules", description = "One row per rule, with its hits.")
        boolean rules;

        @Option(names = "--cluster", description = "The cluster's policies, with the revision each node has realised.")
        boolean cluster;

        @Override
        public Integer call() {
            if (cluster) return list("/v1/cluster/policies", ClusterPolicy.class, Views::clusterPolicies);
            SeptumCli cli = cli();
            List<PolicyRuleHits> hits = hits(cli);
            if (rules) return print(cli, hits, Views::ruleHits);
            return print(cli, cli.client().list("/v1/policies", PolicyInfo.class), list -> Views.policies(list, hits));
        }
    }

    @Command(name = "suggest", mixinStandardHelpOptions = true,
            description = {"Write a CiliumNetworkPolicy that allows exactly the connections observed to and from an"
                    + " endpoint (from the flow store), with label selectors, CIDRs for the world, ports and protocols.",
                    "Its output is valid input to 'policy import'; try it in audit mode first"
                    + " (metadata.annotations policy.septum.io/mode: audit)."})
    static final class SuggestCmd extends AgentCommand {
        @Option(names = "--endpoint", required = true, paramLabel = "ENDPOINT", description = "Endpoint id, namespace/name, or a unique name.")
        String endpoint;

        @Option(names = "--since", paramLabel = "TIME", description = "Only flows since then: 30s, 5m, 1h, 1d or RFC 3339 (default: every flow held).")
        String since;

        @Override
        public Integer call() {
            SeptumCli cli = cli();
            String format = cli.outputText() == null ? "yaml" : cli.outputText().trim().toLowerCase(java.util.Locale.ROOT);
            if (format.equals("table")) format = "yaml";
            if (!format.equals("yaml") && !format.equals("json")) {
                throw new CliException(CliException.INVALID_INPUT, "unknown output format \"" + cli.outputText()
                        + "\" for policy suggest (expected yaml or json)");
            }
            String q = "/v1/policy/suggest?endpoint=" + AgentClient.segment(endpoint)
                    + (since == null ? "" : "&since=" + AgentClient.segment(since));
            Map<String, Object> doc = cli.client().get(q, new com.fasterxml.jackson.core.type.TypeReference<Map<String, Object>>() { });
            try {
                if (format.equals("json")) {
                    cli.output().printJson(doc);
                } else {
                    com.fasterxml.jackson.databind.ObjectMapper yaml = new com.fasterxml.jackson.databind.ObjectMapper(
                            new com.fasterxml.jackson.dataformat.yaml.YAMLFactory()
                                    .disable(com.fasterxml.jackson.dataformat.yaml.YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
                                    .enable(com.fasterxml.jackson.dataformat.yaml.YAMLGenerator.Feature.MINIMIZE_QUOTES)
                                    // a port must stay a string ("80"), as Cilium writes it
                                    .enable(com.fasterxml.jackson.dataformat.yaml.YAMLGenerator.Feature.ALWAYS_QUOTE_NUMBERS_AS_STRINGS));
                    cli.output().out().print(yaml.writeValueAsString(doc));
                    cli.output().out().flush();
                }
            } catch (IOException e) {
                throw new CliException(1, "cannot write the suggestion: " + e.getMessage());
            }
            return 0;
        }
    }

    /** The base of {@code policy get} and {@code policy delete}: one policy of the agent, named by NAME and {@code -n}. */
    abstract static class OnePolicyCmd extends AgentCommand {
        @Parameters(paramLabel = "NAME", description = "Policy name (or namespace/name).")
        String name;

        @Option(names = {"-n", "--namespace"}, description = "Its namespace; - for cluster-wide (default: the only policy of that name).")
        String namespace;

        /** The policy's REST path; {@code -n -} names a cluster-wide policy. */
        final String policyPath() {
            return path(name, "-".equals(namespace) ? "" : namespace);
        }
    }

    @Command(name = "get", mixinStandardHelpOptions = true,
            description = "Show a policy: its rules with their ids, notes, the document.")
    static final class GetCmd extends OnePolicyCmd {
        @Override
        public Integer call() {
            SeptumCli cli = cli();
            PolicyInfo p = cli.client().get(policyPath(), PolicyInfo.class);
            return print(cli, p, x -> Views.policy(x, hits(cli)));
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true, description = "Delete a policy from the agent.")
    static final class DeleteCmd extends OnePolicyCmd {
        @Option(names = "--cluster", description = "Delete it from the cluster's store: every node drops it.")
        boolean cluster;

        @Override
        public Integer call() {
            SeptumCli cli = cli();
            if (cluster) {
                String ns = namespace == null || "-".equals(namespace) ? "" : namespace;
                String n = name;
                if (namespace == null && name.indexOf('/') > 0) {
                    ns = name.substring(0, name.indexOf('/'));
                    n = name.substring(name.indexOf('/') + 1);
                }
                cli.client().delete("/v1/cluster/policies/" + (ns.isEmpty() ? "" : AgentClient.segment(ns) + "/")
                        + AgentClient.segment(n));
                cli.output().info("Deleted cluster policy " + (ns.isEmpty() ? n : ns + "/" + n) + "; every node drops it");
                return 0;
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> r = cli.client().delete(policyPath(), Map.class);
            cli.output().result(r, () -> "Deleted policy " + name + ", revision " + (r == null ? "?" : r.get("revision")));
            return 0;
        }
    }

    @Command(name = "validate", mixinStandardHelpOptions = true,
            description = "Check policy files offline (no agent needed): exit 0 if every document is valid, else 2.")
    static final class ValidateCmd extends AgentCommand {
        @Parameters(paramLabel = "FILE", arity = "1..*", description = "YAML files of policies; - reads standard input.")
        List<String> files;

        @Override
        public Integer call() {
            SeptumCli cli = cli();
            PolicyEngine engine = engine();
            List<Map<String, Object>> report = new ArrayList<>();
            boolean ok = true;
            for (String f : files) {
                Map<String, Object> entry = new LinkedHashMap<>();
                entry.put("file", f.equals("-") ? "stdin" : f);
                Source s;
                try {
                    s = read(cli, f);
                } catch (CliException e) {
                    cli.err().println("septum: " + e.getMessage());
                    entry.put("valid", false);
                    entry.put("errors", List.of(new ValidationError(f, 0, null, null, null, e.getMessage())));
                    report.add(entry);
                    ok = false;
                    continue;
                }
                try {
                    PolicySet set = engine.parse(s.origin(), s.text());
                    entry.put("valid", true);
                    entry.put("policies", set.policies().stream().map(PolicyInfo::qualifiedName).toList());
                    cli.output().info(s.origin() + ": valid (" + set.policies().size() + " policies)");
                } catch (PolicyValidationException e) {
                    ok = false;
                    entry.put("valid", false);
                    entry.put("errors", e.errors());
                    printErrors(cli.err(), e.errors());
                }
                report.add(entry);
            }
            if (cli.format() == Output.Format.JSON) cli.output().printJson(report);
            return ok ? 0 : CliException.INVALID_INPUT;
        }
    }

    @Command(name = "eval", mixinStandardHelpOptions = true,
            description = {"Judge a test case's probes offline: exit 0 all pass, 1 some fail, 2 invalid input.",
                    "Probes with http: are judged at L7 with the HTTP rules (the verdict and the HTTP rule that "
                            + "matched, or \"no HTTP rule matches METHOD PATH\"); --http-method/--http-path judge every "
                            + "TCP probe as that request instead."})
    static final class EvalCmd extends AgentCommand {
        @Parameters(paramLabel = "CASE", description = "A test case file (corpus format); - reads standard input.")
        String file;

        @Option(names = "--enforcement", paramLabel = "MODE", defaultValue = "default",
                description = "Enforcement mode: default, always or never (default: ${DEFAULT-VALUE}).")
        String enforcement;

        @Option(names = "--http-method", paramLabel = "M",
                description = "Judge every TCP probe as an HTTP request with this method (e.g. PUT), at L7.")
        String httpMethod;

        @Mixin
        HttpRequestOptions request;

        @Override
        public Integer call() {
            SeptumCli cli = cli();
            EnforcementMode mode;
            try {
                mode = EnforcementMode.parse(enforcement);
            } catch (IllegalArgumentException e) {
                throw new CliException(CliException.INVALID_INPUT, e.getMessage());
            }
            Map<String, String> http = httpProbe(httpMethod, request.path, request.headers);
            PolicyEngine engine = engine();
            Source s = read(cli, file);
            CaseResult r;
            try {
                TestCase c = engine.parseCase(s.origin(), s.text());
                if (http != null) c = withHttp(c, http);
                r = engine.evaluate(c, mode);
            } catch (PolicyValidationException e) {
                printErrors(cli.err(), e.errors());
                return CliException.INVALID_INPUT;
            }
            Output o = cli.output();
            if (o.json()) {
                o.printJson(EvalJson.of(r));
            } else {
                o.out().print(Views.probes(r).render());
                o.out().println(r.passed() + " passed, " + r.failed() + " failed");
                o.out().flush();
            }
            return r.failed() == 0 ? 0 : 1;
        }
    }

    /** The rest of the HTTP request that {@code eval} and {@code trace} judge; each has its own {@code --http-method}. */
    static final class HttpRequestOptions {
        @Option(names = "--http-path", paramLabel = "P", description = "The path of that request (default: /).")
        String path;

        @Option(names = "--http-header", paramLabel = "'K: V'",
                description = "A header of that request, repeatable (Host: sets the host that host rules match).")
        List<String> headers;
    }

    /**
     * The probe {@code http} map (the corpus's {@code method}, {@code path}, {@code headers} as "Name: value"
     * lines) for {@code --http-*}, or null when no such option was given.
     */
    static Map<String, String> httpProbe(String method, String path, List<String> headers) {
        boolean any = method != null || path != null || (headers != null && !headers.isEmpty());
        if (!any) return null;
        Map<String, String> http = new LinkedHashMap<>();
        String m = method == null ? "GET" : method.strip();
        if (!m.matches("[A-Za-z]+")) {
            throw new CliException(CliException.INVALID_INPUT, "--http-method \"" + method + "\" is not an HTTP method (e.g. GET)");
        }
        http.put("method", m);
        String p = path == null ? "/" : path.strip();
        if (!p.startsWith("/")) {
            throw new CliException(CliException.INVALID_INPUT, "--http-path \"" + path + "\" must start with /");
        }
        http.put("path", p);
        List<String> lines = new ArrayList<>();
        for (String h : headers == null ? List.<String>of() : headers) {
            int c = h.indexOf(':');
            if (c <= 0 || h.contains("\n")) {
                throw new CliException(CliException.INVALID_INPUT, "--http-header \"" + h + "\" is not 'Name: value'");
            }
            if (h.substring(0, c).strip().equalsIgnoreCase("host")) http.put("host", h.substring(c + 1).strip());
            lines.add(h.strip());
        }
        if (!lines.isEmpty()) http.put("headers", String.join("\n", lines));
        return http;
    }

    /** The case with every TCP probe made this HTTP request. */
    static TestCase withHttp(TestCase c, Map<String, String> http) {
        List<TestCase.Probe> probes = new ArrayList<>();
        for (TestCase.Probe p : c.probes()) {
            boolean tcp = "TCP".equalsIgnoreCase(p.protocol());
            probes.add(new TestCase.Probe(p.from(), p.to(), p.port(), p.protocol(), tcp ? http : p.http(), p.expect()));
        }
        return new TestCase(c.name(), c.description(), c.namespaces(), c.endpoints(), c.external(), c.policies(), probes);
    }

    @Command(name = "trace", mixinStandardHelpOptions = true,
            description = {"Explain which rule decides traffic from source labels to destination labels, in both directions.",
                    "With --http-method/--http-path, also judge that HTTP request with the L7 rules."})
    static final class TraceCmd extends AgentCommand {
        @Option(names = {"-s", "--src-labels"}, required = true, paramLabel = "LABELS",
                description = "Source labels, comma-separated or repeated (k8s:org=empire; no source means any).")
        List<String> src;

        @Option(names = {"-d", "--dst-labels"}, required = true, paramLabel = "LABELS",
                description = "Destination labels, comma-separated or repeated.")
        List<String> dst;

        @Option(names = "--dport", paramLabel = "PORT[/PROTO]", defaultValue = "0/ANY",
                description = "Destination port and protocol, e.g. 80/TCP (default: any port).")
        String dport;

        @Mixin
        HttpRequestOptions request;

        @Option(names = "--http-method", paramLabel = "M",
                description = "Trace one HTTP request with this method (e.g. PUT) at L7 as well (TCP).")
        String httpMethod;

        @Override
        public Integer call() {
            SeptumCli cli = cli();
            String[] pp = dport.split("/", 2);
            int port;
            try {
                port = Integer.parseInt(pp[0].trim());
            } catch (NumberFormatException e) {
                throw new CliException(CliException.INVALID_INPUT, "--dport \"" + dport + "\" is not PORT[/PROTOCOL] (e.g. 80/TCP)");
            }
            if (port < 0 || port > 65535) throw new CliException(CliException.INVALID_INPUT, "--dport " + port + " is out of range 0-65535");
            String protocol = pp.length > 1 ? pp[1].trim().toUpperCase(java.util.Locale.ROOT) : "TCP";
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("src", split(src));
            body.put("dst", split(dst));
            body.put("port", port);
            body.put("protocol", protocol);
            Map<String, String> http = httpProbe(httpMethod, request.path, request.headers);
            if (http != null) {
                if (!protocol.equals("TCP") || port == 0) {
                    throw new CliException(CliException.INVALID_INPUT, "an HTTP trace needs --dport PORT/TCP");
                }
                Map<String, Object> h = new LinkedHashMap<>();
                h.put("method", http.get("method"));
                h.put("path", http.get("path"));
                if (request.headers != null && !request.headers.isEmpty()) h.put("headers", request.headers);
                body.put("http", h);
            }
            return print(cli, cli.client().post("/v1/policy/trace", body, TraceResult.class), Views::trace);
        }

        private static List<String> split(List<String> values) {
            List<String> out = new ArrayList<>();
            for (String v : values) for (String p : v.split(",")) if (!p.isBlank()) out.add(p.strip());
            return out;
        }
    }
}
