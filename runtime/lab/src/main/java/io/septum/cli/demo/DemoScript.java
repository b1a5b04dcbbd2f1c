package io.septum.cli.demo;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.septum.cli.connectivity.LabException;
import io.septum.cli.connectivity.NetLab;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A demo as data: the folder {@code examples/<name>/} holds {@code demo.yaml} (the endpoints, the service, the
 * policy file's name and the steps with what each must answer) and the policy file. {@link DemoCommand} plays it
 * with the lab. The folder is read from the install ({@code <home>/examples/<name>}), else from a checkout
 * ({@code examples/<name>}), else from the copy built into this jar.
 */
record DemoScript(String title, String namespace, List<EndpointDef> endpoints, ServiceDef service, String policy,
        List<Step> steps, String policyText, String policyShownAs) {
    static final String FILE = "demo.yaml";
    /** Where the build puts the copies of {@code examples/<name>/} in this jar. */
    static final String RESOURCES = "/io/septum/cli/demo/";

    /** An endpoint: a network namespace with these labels, serving the lab's HTTP routes on {@code listen}. */
    record EndpointDef(String name, Map<String, String> labels, List<String> listen) {
        EndpointDef {
            labels = labels == null ? Map.of() : new LinkedHashMap<>(labels);
            listen = listen == null ? List.of() : List.copyOf(listen);
        }

        List<NetLab.Port> ports() {
            return listen.stream().map(NetLab.Port::parse).toList();
        }
    }

    /** A ClusterIP service: frontend {@code 10.199.<lab>.<vip>:<port>} over the named endpoints. */
    record ServiceDef(String name, int vip, int port, List<String> backends) {
        ServiceDef {
            backends = backends == null ? List.of() : List.copyOf(backends);
        }
    }

    /** A request made with curl inside {@code from}; it must be dropped, or answer {@code status} with {@code body}. */
    record Request(String from, String method, String path, Integer status, String body, boolean dropped) {
    }

    /** {@code observe} or {@code monitor}: what the agent recorded of the traffic from {@code from}. */
    record Watch(String type, String from, String expect, String note) {
    }

    /** One step: exactly one of its fields is set. */
    record Step(String list, @JsonProperty("add-service") JsonNode addService, String comment, Request request,
            @JsonProperty("import-policy") JsonNode importPolicy, Watch observe, Watch monitor) {
        String kind() {
            List<String> set = new ArrayList<>();
            if (list != null) set.add("list");
            if (addService != null) set.add("add-service");
            if (comment != null) set.add("comment");
            if (request != null) set.add("request");
            if (importPolicy != null) set.add("import-policy");
            if (observe != null) set.add("observe");
            if (monitor != null) set.add("monitor");
            if (set.size() != 1) throw new IllegalArgumentException("a step has exactly one of list, add-service, comment,"
                    + " request, import-policy, observe, monitor; got " + (set.isEmpty() ? "none" : String.join(", ", set)));
            return set.get(0);
        }
    }

    /** The fields of {@code demo.yaml}. */
    private record File(String title, String namespace, List<EndpointDef> endpoints, ServiceDef service, String policy,
            List<Step> steps) {
    }

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /** The demo {@code name}: from the install, a checkout, or this jar. */
    static DemoScript load(String name) {
        Optional<Path> dir = folder(name);
        if (dir.isPresent()) return load(dir.get(), dir.get().toString());
        String base = RESOURCES + name + "/";
        try (InputStream demo = DemoScript.class.getResourceAsStream(base + FILE)) {
            if (demo == null) throw new LabException("no demo \"" + name + "\" (no examples/" + name + "/" + FILE + ")");
            File f = parse(demo.readAllBytes(), "examples/" + name + "/" + FILE);
            try (InputStream policy = DemoScript.class.getResourceAsStream(base + f.policy())) {
                if (policy == null) throw new LabException("examples/" + name + "/" + FILE + ": no policy file " + f.policy());
                return of(f, new String(policy.readAllBytes(), StandardCharsets.UTF_8), "examples/" + name + "/" + f.policy());
            }
        } catch (IOException e) {
            throw new LabException("cannot read the demo " + name + " from the septum-lab jar: " + e.getMessage(), e);
        }
    }

    /** The demo in folder {@code dir}; the import step shows the policy file under {@code shownDir}. */
    static DemoScript load(Path dir, String shownDir) {
        Path demo = dir.resolve(FILE);
        try {
            File f = parse(Files.readAllBytes(demo), demo.toString());
            Path policy = dir.resolve(f.policy());
            return of(f, Files.readString(policy), Path.of(shownDir).resolve(f.policy()).toString());
        } catch (IOException e) {
            throw new LabException("cannot read the demo in " + dir + ": " + e);
        }
    }

    private static File parse(byte[] yaml, String where) {
        try {
            File f = YAML.readValue(yaml, File.class);
            if (f == null || f.endpoints() == null || f.endpoints().isEmpty() || f.steps() == null || f.policy() == null) {
                throw new LabException(where + ": needs endpoints, policy and steps");
            }
            for (Step s : f.steps()) s.kind();
            return f;
        } catch (IOException | IllegalArgumentException e) {
            throw new LabException(where + ": " + e.getMessage(), e);
        }
    }

    private static DemoScript of(File f, String policyText, String shownAs) {
        return new DemoScript(f.title() == null ? "Demo" : f.title(), f.namespace() == null ? "default" : f.namespace(),
                List.copyOf(f.endpoints()), f.service(), f.policy(), List.copyOf(f.steps()), policyText, shownAs);
    }

    /** {@code <home>/examples/<name>}, then {@code examples/<name>} next to the jar's install, then in a checkout. */
    static Optional<Path> folder(String name) {
        List<Path> candidates = new ArrayList<>();
        String home = System.getProperty("septum.home", System.getenv("SEPTUM_HOME"));
        if (home != null && !home.isBlank()) candidates.add(Path.of(home, "examples", name));
        try {
            Path jar = Path.of(DemoScript.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            if (jar.getParent() != null && jar.getParent().getParent() != null) {
                candidates.add(jar.getParent().getParent().resolve("examples").resolve(name));
            }
        } catch (Exception ignored) {
            // no code source: the copy in the jar is used
        }
        candidates.add(Path.of("examples", name));
        return candidates.stream().filter(d -> Files.isRegularFile(d.resolve(FILE)))
                .findFirst().map(p -> p.toAbsolutePath().normalize());
    }

    EndpointDef endpoint(String name) {
        return endpoints.stream().filter(e -> e.name().equals(name)).findFirst()
                .orElseThrow(() -> new LabException("the demo names endpoint \"" + name + "\", which it does not declare"));
    }
}
