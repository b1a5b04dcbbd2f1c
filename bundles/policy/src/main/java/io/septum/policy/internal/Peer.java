package io.septum.policy.internal;

import io.septum.api.Label;
import io.septum.api.Labels;
import io.septum.api.ReservedIdentity;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The remote side a rule allows or denies: a selector, an entity, a CIDR set or group, DNS names, a service, or every
 * identity.
 */
sealed interface Peer {
    boolean matches(Labels labels);

    /** True when it stands for every identity (datapath identity 0). */
    default boolean wildcard() {
        return false;
    }

    /** This peer with the objects it names (CIDR groups, services) as they are in {@code refs}. */
    default Peer resolved(References refs) {
        return this;
    }

    /** True when it names other objects, which {@link #resolved} looks up. */
    default boolean namesObjects() {
        return false;
    }

    record Endpoints(Selector selector) implements Peer {
        @Override
        public boolean matches(Labels labels) {
            return selector.matches(labels);
        }

        @Override
        public String toString() {
            return "endpoints " + selector;
        }
    }

    record Any() implements Peer {
        @Override
        public boolean matches(Labels labels) {
            return true;
        }

        @Override
        public boolean wildcard() {
            return true;
        }

        @Override
        public String toString() {
            return "any peer";
        }
    }

    record Entity(String name) implements Peer {
        static final Set<String> NAMES = Set.of("world", "cluster", "host", "all", "remote-node", "health", "init",
                "unmanaged", "kube-apiserver", "ingress", "world-ipv4", "world-ipv6");
        /** Reserved identities that belong to the entity {@code cluster} besides the endpoints. */
        private static final Set<String> CLUSTER_RESERVED = Set.of("host", "remote-node", "health", "init",
                "unmanaged", "ingress", "kube-apiserver");

        @Override
        public boolean wildcard() {
            return name.equals("all");
        }

        @Override
        public boolean matches(Labels labels) {
            return switch (name) {
                case "all" -> true;
                case "world" -> isWorld(labels, null);
                case "world-ipv4" -> isWorld(labels, Boolean.TRUE);
                case "world-ipv6" -> isWorld(labels, Boolean.FALSE);
                case "cluster" -> isEndpoint(labels) || CLUSTER_RESERVED.stream().anyMatch(labels::isReserved);
                default -> labels.isReserved(name);
            };
        }

        static boolean isEndpoint(Labels labels) {
            return !Selector.isReservedOrCidr(labels) && labels.namespace().isPresent();
        }

        /** @param ipv4 null for both families */
        private static boolean isWorld(Labels labels, Boolean ipv4) {
            if (ipv4 == null && (labels.isReserved(ReservedIdentity.WORLD.labelName())
                    || labels.isReserved(ReservedIdentity.WORLD_IPV4.labelName())
                    || labels.isReserved(ReservedIdentity.WORLD_IPV6.labelName()))) return true;
            if (Boolean.TRUE.equals(ipv4) && labels.isReserved(ReservedIdentity.WORLD_IPV4.labelName())) return true;
            if (Boolean.FALSE.equals(ipv4) && labels.isReserved(ReservedIdentity.WORLD_IPV6.labelName())) return true;
            for (Optional<Cidr> c : cidrs(labels)) {
                if (c.isPresent() && (ipv4 == null || c.get().isIpv4() == ipv4)) return true;
            }
            return false;
        }

        @Override
        public String toString() {
            return "entity " + name;
        }
    }

    /** {@code cidr} minus every {@code except}; matches CIDR identities whose prefix lies inside. */
    record CidrSet(Cidr cidr, List<Cidr> except) implements Peer {
        @Override
        public boolean matches(Labels labels) {
            for (Optional<Cidr> c : cidrs(labels)) {
                if (c.isEmpty() || !cidr.contains(c.get())) continue;
                if (except.stream().noneMatch(e -> e.contains(c.get()))) return true;
            }
            // 0.0.0.0/0 (or ::/0) is how Cilium spells "the world": the world identity has no narrower prefix
            if (cidr.prefixLength() == 0) {
                if (labels.isReserved(ReservedIdentity.WORLD.labelName())
                        && labels.asList().stream().noneMatch(l -> Label.CIDR.equals(l.source()))) return true;
                return labels.isReserved(cidr.isIpv4() ? ReservedIdentity.WORLD_IPV4.labelName()
                        : ReservedIdentity.WORLD_IPV6.labelName());
            }
            return false;
        }

        @Override
        public String toString() {
            return "cidr " + cidr + (except.isEmpty() ? ""
                    : " except " + except.stream().map(Cidr::toString).collect(Collectors.joining(",")));
        }
    }

    /**
     * {@code cidrGroupRef} ({@code name}) or {@code cidrGroupSelector} ({@code selector}, over the groups' labels): the
     * {@code externalCIDRs} of the {@code CiliumCIDRGroup}s it names, as they are in the policy set ({@code members},
     * resolved when the set is built; empty while no such group exists, so that it matches nothing, as in Cilium).
     */
    record CidrGroup(String name, Selector selector, List<Cidr> members) implements Peer {
        public CidrGroup {
            members = List.copyOf(members);
        }

        @Override
        public Peer resolved(References refs) {
            return new CidrGroup(name, selector, name != null ? refs.group(name) : refs.groups(selector));
        }

        @Override
        public boolean namesObjects() {
            return true;
        }

        @Override
        public boolean matches(Labels labels) {
            for (Cidr m : members) if (new CidrSet(m, List.of()).matches(labels)) return true;
            return false;
        }

        @Override
        public String toString() {
            String what = name != null ? "cidr group " + name : "cidr groups " + selector;
            return what + (members.isEmpty() ? " (no such CiliumCIDRGroup, or it is empty)"
                    : " (" + members.stream().map(Cidr::toString).collect(Collectors.joining(",")) + ")");
        }
    }

    /**
     * {@code toServices} with {@code k8sService}: the backends of the agent's service {@code namespace/name} (of every
     * service of that name when {@code namespace} is null) as they are when the policy set is built
     * ({@link ServiceTargets}): the identities of its endpoint backends and the addresses of its IP backends. A
     * missing service, or one without active backends, matches nothing.
     */
    record Service(String namespace, String name, ServiceTargets.Target target) implements Peer {
        @Override
        public Peer resolved(References refs) {
            return new Service(namespace, name, refs.services().get(namespace, name));
        }

        @Override
        public boolean namesObjects() {
            return true;
        }

        @Override
        public boolean matches(Labels labels) {
            if (target.endpoints().contains(labels)) return true;
            for (Cidr a : target.addresses()) if (new CidrSet(a, List.of()).matches(labels)) return true;
            return false;
        }

        /** True when {@code labels} are an endpoint backend's, which {@code toRequires} constrain as in Cilium. */
        boolean endpointBackend(Labels labels) {
            return target.endpoints().contains(labels);
        }

        @Override
        public String toString() {
            return "service " + (namespace == null ? name + " (any namespace)" : namespace + "/" + name)
                    + (target.shown().isEmpty()
                    ? " (no such service, or no active backends)" : " (" + String.join(", ", target.shown()) + ")");
        }
    }

    /**
     * {@code toFQDNs}: the addresses that allowed, proxied DNS lookups of a matching name returned. Each such address
     * has a CIDR identity that carries an {@code fqdn:NAME} label for every name it was returned for.
     */
    record Fqdns(List<FqdnMatcher> names) implements Peer {
        public Fqdns {
            names = List.copyOf(names);
        }

        @Override
        public boolean matches(Labels labels) {
            for (Label l : labels.asList()) {
                if (!Label.FQDN.equals(l.source())) continue;
                for (FqdnMatcher m : names) if (m.matches(l.key())) return true;
            }
            return false;
        }

        @Override
        public String toString() {
            return "fqdns " + names.stream().map(FqdnMatcher::toString).collect(Collectors.joining(", "));
        }
    }

    static List<Optional<Cidr>> cidrs(Labels labels) {
        return labels.asList().stream().filter(l -> Label.CIDR.equals(l.source()))
                .map(l -> Cidr.tryParse(l.value().isEmpty() ? l.key() : l.key() + "=" + l.value()))
                .toList();
    }
}
