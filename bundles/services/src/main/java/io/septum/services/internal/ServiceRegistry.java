package io.septum.services.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.septum.api.ComponentStatus;
import io.septum.api.Endpoint;
import io.septum.api.EndpointIndex;
import io.septum.api.EndpointListener;
import io.septum.api.datapath.Datapath;
import io.septum.api.datapath.DatapathException;
import io.septum.api.service.Service;
import io.septum.api.service.ServiceBackend;
import io.septum.api.service.ServiceListener;
import io.septum.api.service.ServiceManager;
import io.septum.api.service.ServiceSpec;
import io.septum.api.service.ServiceValidationException;
import io.septum.support.io.AtomicFiles;
import io.septum.support.source.WorkerThread;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The services: those added through the API (persisted in {@code <state>/services/services.json}) and those of
 * {@code etc/services.yaml} (read at start and whenever the file changes; a bad file keeps the last good one).
 * One thread re-resolves endpoint backends every interval and pushes the result to the datapath when it changed,
 * so a backend whose endpoint leaves is taken out within an interval. API calls resolve and push at once.
 */
final class ServiceRegistry implements ServiceManager, AutoCloseable {
    static final String STATE_FILE = "services.json";
    static final String API_ORIGIN = "api";
    private static final Logger LOG = Logger.getLogger(ServiceRegistry.class.getName());

    record Settings(Path stateDir, Path configFile, Path hostsRoot, Duration interval, Duration commandTimeout) {
    }

    private record Entry(long id, ServiceSpecs.Valid spec, String origin) {
    }

    private final Settings settings;
    private final Datapath datapath;
    private final EndpointIndex endpoints;
    /** Resolves at once when endpoints change; the timer only re-reads the configuration file and retries. */
    private final EndpointListener onEndpoints = snapshot -> trigger();
    private final MacResolver macs;
    private final HostsFiles hosts;
    private final ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private final ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
    private final Object lock = new Object();

    /** By qualified name. */
    private final Map<String, Entry> api = new TreeMap<>();
    private final Map<String, Entry> config = new TreeMap<>();
    /** Qualified name to id, for every service ever seen (ids survive delete-and-add of the same name). */
    private final Map<String, Long> ids = new TreeMap<>();
    private long nextId = 1;
    private String configFingerprint = "";
    private String configError;
    private String syncError;
    private String hostsError;
    private List<Service> resolved = List.of();
    private List<Service> pushed;
    /** The services with the endpoint snapshot they were resolved against; what listeners are told. */
    private record Resolution(List<Service> services, io.septum.api.EndpointSnapshot endpoints) {
        boolean sameAs(Resolution o) {
            return o != null && services.equals(o.services) && endpoints.revision() == o.endpoints.revision();
        }
    }

    /** Before a listener was told anything (no resolution has revision 0: it waits for the first snapshot). */
    private static final Resolution UNTOLD = new Resolution(List.of(), io.septum.api.EndpointSnapshot.EMPTY);
    /** Each listener with what it was last told. */
    private final Map<ServiceListener, Resolution> listeners = new ConcurrentHashMap<>();
    private volatile Resolution latest;
    private final WorkerThread worker = new WorkerThread("septum-services");

    ServiceRegistry(Settings settings, Datapath datapath, EndpointIndex endpoints, MacResolver macs) {
        this.settings = settings;
        this.datapath = datapath;
        this.endpoints = endpoints;
        this.macs = macs;
        this.hosts = new HostsFiles(settings.hostsRoot());
        load();
    }

    /** Starts the resolve-and-push thread; the first round runs at once, off the caller's thread. */
    void start() {
        if (!worker.start()) return;
        worker.scheduleWithFixedDelay(this::tick, Duration.ZERO, settings.interval());
        endpoints.addListener(onEndpoints);
    }

    /** Runs a round now, on the registry's thread. */
    private void trigger() {
        worker.execute(this::tick); // dropped when closing
    }

    /** Tells the listener the newest resolution soon, on the registry's thread, and then every change. */
    void addListener(ServiceListener l) {
        listeners.put(l, UNTOLD);
        worker.execute(this::tellListeners);
    }

    void removeListener(ServiceListener l) {
        listeners.remove(l);
    }

    /** On the registry's thread, outside the lock, so that a listener may call back. */
    private void tellListeners() {
        Resolution now = latest;
        if (now == null) return;
        for (Map.Entry<ServiceListener, Resolution> e : listeners.entrySet()) {
            if (now.sameAs(e.getValue()) || !listeners.replace(e.getKey(), e.getValue(), now)) continue;
            try {
                e.getKey().servicesChanged(now.services(), now.endpoints());
            } catch (RuntimeException failed) {
                LOG.log(Level.WARNING, "services: listener " + e.getKey() + " failed", failed);
            }
        }
    }

    @Override
    public void close() {
        endpoints.removeListener(onEndpoints);
        worker.stopNow(settings.commandTimeout().plusSeconds(1));
    }

    void tick() {
        try {
            synchronized (lock) {
                readConfigIfChanged();
                resolveAndPush();
            }
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "services: resolving and pushing failed", e);
            syncError = e.toString();
        }
    }

    // ------------------------------------------------------------------ ServiceManager

    @Override
    public Service upsert(ServiceSpec spec) throws ServiceValidationException {
        ServiceSpecs.Valid v = ServiceSpecs.validate(spec);
        synchronized (lock) {
            String q = v.qualifiedName();
            if (config.containsKey(q)) {
                throw new ServiceValidationException("service " + q + ": defined in " + settings.configFile()
                        + "; change it there");
            }
            checkFrontend(v, q, config.values(), api.values());
            Entry old = api.get(q);
            Long previousId = ids.get(q);
            long id = previousId != null ? previousId : nextId;
            api.put(q, new Entry(id, v, API_ORIGIN));
            if (previousId == null) {
                ids.put(q, id);
                nextId++;
            }
            try {
                resolveAndPushOrThrow();
                persist();
            } catch (DatapathException | IOException e) {
                if (old == null) api.remove(q);
                else api.put(q, old);
                if (previousId == null) {
                    ids.remove(q);
                    nextId--;
                }
                try {
                    resolveAndPushOrThrow();
                } catch (DatapathException again) {
                    syncError = again.getMessage();
                }
                throw new ServiceValidationException("service " + q + ": not applied: " + e.getMessage());
            }
            return find(q).orElseThrow();
        }
    }

    @Override
    public boolean delete(String idOrName) {
        synchronized (lock) {
            Optional<Service> s = get(idOrName);
            if (s.isEmpty()) return false;
            String q = s.get().qualifiedName();
            if (config.containsKey(q)) {
                throw new IllegalArgumentException("service " + q + " is defined in " + settings.configFile()
                        + "; remove it there");
            }
            Entry old = api.remove(q);
            try {
                resolveAndPushOrThrow();
                persist();
            } catch (DatapathException | IOException e) {
                api.put(q, old);
                throw new IllegalStateException("service " + q + ": not deleted: " + e.getMessage(), e);
            }
            return true;
        }
    }

    @Override
    public List<Service> list() {
        synchronized (lock) {
            return resolved;
        }
    }

    @Override
    public Optional<Service> get(String idOrName) {
        if (idOrName == null || idOrName.isBlank()) return Optional.empty();
        String key = idOrName.trim();
        synchronized (lock) {
            for (Service s : resolved) {
                if (key.equals(Long.toString(s.id())) || key.equals(s.qualifiedName())) return Optional.of(s);
            }
            return find("default/" + key);
        }
    }

    private Optional<Service> find(String qualifiedName) {
        return resolved.stream().filter(s -> s.qualifiedName().equals(qualifiedName)).findFirst();
    }

    ComponentStatus health() {
        synchronized (lock) {
            long active = resolved.stream().flatMap(s -> s.backends().stream()).filter(ServiceBackend::active).count();
            long all = resolved.stream().mapToLong(s -> s.backends().size()).sum();
            String summary = resolved.size() + " services, " + active + "/" + all + " backends active";
            List<String> problems = new ArrayList<>();
            if (configError != null) problems.add(configError);
            if (syncError != null) problems.add("datapath: " + syncError);
            if (hostsError != null) problems.add(hostsError);
            if (problems.isEmpty()) return ComponentStatus.ok("services", summary);
            return new ComponentStatus("services", syncError != null ? "failed" : "degraded",
                    summary + "; " + String.join("; ", problems));
        }
    }

    // ------------------------------------------------------------------ resolution

    private static void checkFrontend(ServiceSpecs.Valid v, String q, Iterable<Entry> a, Iterable<Entry> b)
            throws ServiceValidationException {
        for (Iterable<Entry> entries : List.of(a, b)) {
            for (Entry e : entries) {
                if (e.spec().qualifiedName().equals(q)) continue;
                if (e.spec().frontendIp().equals(v.frontendIp()) && e.spec().frontendPort() == v.frontendPort()
                        && e.spec().protocol().equals(v.protocol())) {
                    throw new ServiceValidationException("service " + q + ": field frontend: " + v.frontendIp() + ":"
                            + v.frontendPort() + "/" + v.protocol().toLowerCase() + " is already the frontend of service "
                            + e.spec().qualifiedName());
                }
            }
        }
    }

    private void resolveAndPush() {
        if (endpoints.snapshot().revision() == 0) return; // the first snapshot's push resolves (see below)
        try {
            resolveAndPushOrThrow();
        } catch (DatapathException e) {
            if (!e.getMessage().equals(syncError)) LOG.warning("services: " + e.getMessage());
            syncError = e.getMessage();
        }
    }

    private void resolveAndPushOrThrow() throws DatapathException {
        io.septum.api.EndpointSnapshot snap = endpoints.snapshot();
        if (snap.revision() == 0) {
            // before the endpoint manager's first pass: resolving now would push every endpoint backend as
            // not-found over what the pinned maps hold from before a restart; the first snapshot's push resolves
            throw new DatapathException("waiting for the endpoint manager's first pass");
        }
        List<Endpoint> eps = snap.endpoints();
        Map<String, Endpoint> byName = new HashMap<>();
        Map<String, Endpoint> byIp = new HashMap<>();
        for (Endpoint ep : eps) {
            byName.put(ep.qualifiedName(), ep);
            for (String a : ep.addresses()) byIp.put(strip(a), ep);
        }
        macs.retain(eps);
        List<Entry> all = new ArrayList<>(config.values());
        all.addAll(api.values());
        all.sort(Comparator.comparingLong(Entry::id));
        List<Service> out = new ArrayList<>();
        for (Entry e : all) {
            ServiceSpecs.Valid v = e.spec();
            List<ServiceBackend> backends = new ArrayList<>();
            for (ServiceSpecs.BackendRef b : v.backends()) {
                int port = b.port() == 0 ? v.frontendPort() : b.port();
                if (b.isIp()) {
                    Endpoint ep = byIp.get(b.target());
                    backends.add(new ServiceBackend(b.display(), port, b.target(), ServiceBackend.ACTIVE,
                            ep == null ? null : macs.mac(ep)));
                    continue;
                }
                Endpoint ep = byName.get(b.target());
                String ip = ep == null ? null : ep.addresses().stream().map(ServiceRegistry::strip)
                        .filter(a -> !a.contains(":")).findFirst().orElse(null);
                if (ip == null) {
                    backends.add(new ServiceBackend(b.display(), port, null, ServiceBackend.NOT_FOUND, null));
                } else {
                    backends.add(new ServiceBackend(b.display(), port, ip, ServiceBackend.ACTIVE, macs.mac(ep)));
                }
            }
            out.add(new Service(e.id(), v.name(), v.namespace(), v.frontendIp(), v.frontendPort(), v.protocol(),
                    Service.CLUSTER_IP, backends, e.origin()));
        }
        resolved = List.copyOf(out);
        latest = new Resolution(resolved, snap);
        worker.execute(this::tellListeners);
        if (!resolved.equals(pushed)) {
            datapath.syncServices(resolved);
            pushed = resolved;
            syncError = null;
        }
        hostsError = hosts.sync(eps, resolved);
    }

    private static String strip(String address) {
        int slash = address.indexOf('/');
        return slash < 0 ? address : address.substring(0, slash);
    }

    // ------------------------------------------------------------------ configuration file

    private void readConfigIfChanged() {
        Path f = settings.configFile();
        String fp;
        try {
            fp = Files.exists(f) ? Files.getLastModifiedTime(f).toMillis() + "/" + Files.size(f) : "absent";
        } catch (IOException e) {
            fp = "unreadable";
        }
        if (fp.equals(configFingerprint)) return;
        configFingerprint = fp;
        try {
            Map<String, Entry> next = parseConfig(f);
            config.clear();
            config.putAll(next);
            configError = null;
            persistIds();
        } catch (ServiceValidationException | IOException e) {
            configError = e.getMessage();
            LOG.warning("services: " + e.getMessage() + " (the last good configuration stays)");
        }
    }

    /** The whole file or nothing. */
    private Map<String, Entry> parseConfig(Path f) throws ServiceValidationException, IOException {
        Map<String, Entry> out = new LinkedHashMap<>();
        if (!Files.exists(f)) return out;
        JsonNode root;
        try {
            root = yaml.readTree(f.toFile());
        } catch (IOException e) {
            throw new ServiceValidationException(f + ": not YAML: " + e.getMessage().lines().findFirst().orElse(""));
        }
        if (root == null || root.isNull() || root.isMissingNode()) return out;
        if (!root.isObject()) throw new ServiceValidationException(f + ": expected a mapping with a \"services\" list");
        JsonNode list = root.path("services");
        if (list.isMissingNode() || list.isNull()) return out;
        if (!list.isArray()) throw new ServiceValidationException(f + ": field services: expected a list");
        Map<String, Long> newIds = new HashMap<>();
        long next = nextId;
        for (int i = 0; i < list.size(); i++) {
            JsonNode n = list.get(i);
            String where = f + ": services[" + i + "]";
            if (!n.isObject()) throw new ServiceValidationException(where + ": expected a mapping");
            for (var it = n.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                if (!List.of("name", "namespace", "frontend", "backends").contains(k)) {
                    throw new ServiceValidationException(where + ": unknown field \"" + k
                            + "\" (expected name, namespace, frontend, backends)");
                }
            }
            List<String> backends = new ArrayList<>();
            JsonNode bl = n.path("backends");
            if (!bl.isMissingNode() && !bl.isNull()) {
                if (!bl.isArray()) throw new ServiceValidationException(where + ": field backends: expected a list");
                for (JsonNode b : bl) backends.add(b.isValueNode() ? b.asText() : b.toString());
            }
            ServiceSpecs.Valid v;
            try {
                v = ServiceSpecs.validate(new ServiceSpec(text(n, "name"), text(n, "namespace"), text(n, "frontend"), backends));
            } catch (ServiceValidationException e) {
                throw new ServiceValidationException(where + ": " + e.getMessage());
            }
            String q = v.qualifiedName();
            if (out.containsKey(q)) throw new ServiceValidationException(where + ": service " + q + " is defined twice");
            if (api.containsKey(q)) {
                throw new ServiceValidationException(where + ": service " + q
                        + " exists already (added with 'septum service add'); delete it first");
            }
            checkFrontend(v, q, out.values(), api.values());
            Long id = ids.get(q);
            if (id == null) id = newIds.get(q);
            if (id == null) {
                id = next++;
                newIds.put(q, id);
            }
            out.put(q, new Entry(id, v, f.toString()));
        }
        ids.putAll(newIds);
        nextId = next;
        return out;
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }

    // ------------------------------------------------------------------ persistence

    private Path stateFile() {
        return settings.stateDir().resolve("services").resolve(STATE_FILE);
    }

    private void load() {
        Path f = stateFile();
        if (!Files.exists(f)) return;
        try {
            JsonNode root = json.readTree(f.toFile());
            nextId = Math.max(1, root.path("nextId").asLong(1));
            root.path("ids").fields().forEachRemaining(e -> ids.put(e.getKey(), e.getValue().asLong()));
            for (JsonNode n : root.path("services")) {
                List<String> backends = new ArrayList<>();
                n.path("backends").forEach(b -> backends.add(b.asText()));
                try {
                    ServiceSpecs.Valid v = ServiceSpecs.validate(new ServiceSpec(text(n, "name"), text(n, "namespace"),
                            text(n, "frontend"), backends));
                    Long id = ids.get(v.qualifiedName());
                    if (id == null) {
                        id = nextId++;
                        ids.put(v.qualifiedName(), id);
                    }
                    api.put(v.qualifiedName(), new Entry(id, v, API_ORIGIN));
                } catch (ServiceValidationException e) {
                    LOG.warning("services: " + f + ": skipped: " + e.getMessage());
                }
            }
        } catch (IOException e) {
            configError = "cannot read " + f + ": " + e.getMessage();
            LOG.warning("services: " + configError);
        }
    }

    private void persist() throws IOException {
        ObjectNode root = json.createObjectNode();
        root.put("nextId", nextId);
        ObjectNode idNode = root.putObject("ids");
        ids.forEach(idNode::put);
        ArrayNode list = root.putArray("services");
        for (Entry e : api.values()) {
            ObjectNode n = list.addObject();
            n.put("name", e.spec().name());
            n.put("namespace", e.spec().namespace());
            n.put("frontend", e.spec().frontendIp() + ":" + e.spec().frontendPort() + "/" + e.spec().protocol().toLowerCase());
            ArrayNode b = n.putArray("backends");
            for (ServiceSpecs.BackendRef r : e.spec().backends()) b.add(r.display());
        }
        Path f = stateFile();
        Files.createDirectories(f.getParent());
        AtomicFiles.write(f, json.writeValueAsBytes(root), AtomicFiles.WORLD_READABLE);
    }

    private void persistIds() {
        try {
            persist();
        } catch (IOException e) {
            LOG.warning("services: cannot write " + stateFile() + ": " + e.getMessage());
        }
    }
}
