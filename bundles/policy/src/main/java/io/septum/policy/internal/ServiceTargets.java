package io.septum.policy.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.septum.api.Endpoint;
import io.septum.api.EndpointSnapshot;
import io.septum.api.Label;
import io.septum.api.Labels;
import io.septum.api.service.Service;
import io.septum.api.service.ServiceBackend;
import io.septum.support.io.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * What {@code toServices} peers resolve against: for each service ({@code namespace/name}), the label sets of its
 * endpoint backends and the addresses of its IP backends. An endpoint backend stands for its endpoint's identity, as a
 * Kubernetes service's selector stands for its pods in Cilium; an IP backend is a {@code /32} (or {@code /128}) CIDR,
 * as Cilium treats the addresses of a service without a selector, so it matches only peers that get a CIDR identity
 * (not a managed endpoint). A backend whose endpoint is not there stands for nothing.
 */
record ServiceTargets(Map<String, Target> byName) {
    static final ServiceTargets NONE = new ServiceTargets(Map.of());

    /** @param shown the backends as {@code policy trace} prints them */
    record Target(List<Labels> endpoints, List<Cidr> addresses, List<String> shown) {
        static final Target NOTHING = new Target(List.of(), List.of(), List.of());

        Target {
            endpoints = List.copyOf(endpoints);
            addresses = List.copyOf(addresses);
            shown = List.copyOf(shown);
        }
    }

    ServiceTargets {
        byName = Map.copyOf(byName);
    }

    /**
     * The service's backends; {@link Target#NOTHING} when there is no such service. A null namespace takes every
     * service of that name, in namespace order.
     */
    Target get(String namespace, String name) {
        if (namespace != null) return byName.getOrDefault(namespace + "/" + name, Target.NOTHING);
        List<Labels> eps = new ArrayList<>();
        List<Cidr> ips = new ArrayList<>();
        List<String> shown = new ArrayList<>();
        new TreeMap<>(byName).forEach((q, t) -> {
            if (!q.substring(q.indexOf('/') + 1).equals(name)) return;
            eps.addAll(t.endpoints());
            ips.addAll(t.addresses());
            shown.addAll(t.shown());
        });
        return new Target(eps, ips, shown);
    }

    static final String FILE = "service-targets.json";
    private static final System.Logger LOG = System.getLogger(ServiceTargets.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * Written when they change ({@code <state>/policies/service-targets.json}) and read at start, so that the first
     * regeneration after a restart resolves {@code toServices} as before it, not to nothing: the services bundle
     * resolves its backends only after that first pass. A failed write is logged, not fatal.
     */
    void save(Path file) {
        try {
            ObjectNode root = JSON.createObjectNode();
            byName.forEach((q, t) -> {
                ObjectNode n = root.putObject(q);
                ArrayNode eps = n.putArray("endpoints");
                t.endpoints().forEach(l -> l.asStrings().forEach(eps.addArray()::add));
                t.addresses().forEach(a -> n.withArray("addresses").add(a.toString()));
                t.shown().forEach(x -> n.withArray("shown").add(x));
            });
            Files.createDirectories(file.getParent());
            AtomicFiles.write(file, JSON.writeValueAsBytes(root),
                    AtomicFiles.WORLD_READABLE);
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot write " + file + " (toServices after a restart resolve"
                    + " once the services are known again): " + e);
        }
    }

    /** What {@link #save} wrote, or {@link #NONE} when there is no file or it cannot be read (logged). */
    static ServiceTargets load(Path file) {
        if (!Files.exists(file)) return NONE;
        try {
            Map<String, Target> out = new TreeMap<>();
            JSON.readTree(file.toFile()).fields().forEachRemaining(e -> {
                List<Labels> eps = new ArrayList<>();
                e.getValue().path("endpoints").forEach(set -> {
                    List<String> l = new ArrayList<>();
                    set.forEach(x -> l.add(x.asText()));
                    eps.add(Labels.parse(l, Label.ANY));
                });
                List<Cidr> ips = new ArrayList<>();
                e.getValue().path("addresses").forEach(a -> ips.add(Cidr.parse(a.asText())));
                List<String> shown = new ArrayList<>();
                e.getValue().path("shown").forEach(x -> shown.add(x.asText()));
                out.put(e.getKey(), new Target(eps, ips, shown));
            });
            return new ServiceTargets(out);
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "ignoring " + file + ": " + e + " (toServices resolve once the services"
                    + " are known)");
            return NONE;
        }
    }

    static ServiceTargets of(List<Service> services, EndpointSnapshot endpoints) {
        Map<String, Target> out = new TreeMap<>();
        for (Service s : services) {
            List<Labels> eps = new ArrayList<>();
            List<Cidr> ips = new ArrayList<>();
            List<String> shown = new ArrayList<>();
            for (ServiceBackend b : s.backends()) {
                if (!b.active()) continue;
                // an endpoint backend is named namespace/name; an IP backend is its address (and port)
                if (b.target().contains("/")) {
                    Optional<Endpoint> ep = endpoints.byIp(b.ip());
                    if (ep.isEmpty()) continue;
                    Labels l = Labels.parse(ep.get().labels(), Label.ANY);
                    if (!eps.contains(l)) eps.add(l);
                    shown.add(ep.get().qualifiedName());
                } else {
                    Optional<Cidr> c = Cidr.tryParse(b.ip());
                    if (c.isEmpty() || ips.contains(c.get())) continue;
                    ips.add(c.get());
                    shown.add(c.get().toString());
                }
            }
            out.put(s.qualifiedName(), new Target(eps, ips, shown));
        }
        return new ServiceTargets(out);
    }
}
