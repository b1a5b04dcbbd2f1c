package io.septum.api;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

/**
 * Every endpoint and the ipcache at one moment, immutable, with the revision of the {@link EndpointIndex} that
 * published it. Lookups by id, name and address are hash lookups; {@link #identityOf} is a longest-prefix match
 * over the ipcache that tries only the prefix lengths present. Share it freely: nothing in it changes.
 */
public final class EndpointSnapshot {
    /** No endpoints, no ipcache, revision 0. */
    public static final EndpointSnapshot EMPTY = new EndpointSnapshot(0, List.of(), List.of());

    private final long revision;
    private final List<Endpoint> endpoints;
    private final List<IpcacheEntry> ipcache;
    private final Map<Long, Endpoint> byId;
    private final Map<String, Endpoint> byQualifiedName;
    /** Bare name to its endpoint, or to null when two namespaces share it. */
    private final Map<String, Endpoint> byBareName;
    private final Map<IpPrefix, Endpoint> byAddress;
    private final Map<IpPrefix, IpcacheEntry> prefixes;
    /** Each ipcache prefix as written, parsed: what the next snapshot need not parse again. */
    private final Map<String, IpPrefix> parsed;
    /** Prefix lengths present, longest first, per family (index 0: IPv4, 1: IPv6). */
    private final List<List<Integer>> lengths = List.of(new ArrayList<>(), new ArrayList<>());
    /** Identity number to the named ports its endpoints declare, local and remote (see {@link #namedPortsOf}). */
    private final Map<Long, List<NamedPort>> portsByIdentity;

    public EndpointSnapshot(long revision, List<Endpoint> endpoints, List<IpcacheEntry> ipcache) {
        this(revision, endpoints, ipcache, null);
    }

    /**
     * The next snapshot after {@code previous}: the prefixes both hold are parsed once, not again. In cluster mode
     * the ipcache holds every remote endpoint and one change makes a new snapshot, so parsing them all each time
     * was most of a regeneration pass.
     *
     * @since 2.2
     */
    public EndpointSnapshot(long revision, List<Endpoint> endpoints, List<IpcacheEntry> ipcache,
                            EndpointSnapshot previous) {
        this(revision, endpoints, ipcache, Map.of(), previous);
    }

    /**
     * As above, with the named ports of each identity ({@link #namedPortsOf}).
     *
     * @since 2.6
     */
    public EndpointSnapshot(long revision, List<Endpoint> endpoints, List<IpcacheEntry> ipcache,
                            Map<Long, List<NamedPort>> portsByIdentity, EndpointSnapshot previous) {
        this.revision = revision;
        Map<Long, List<NamedPort>> ports = new HashMap<>();
        if (portsByIdentity != null) portsByIdentity.forEach((k, v) -> ports.put(k, List.copyOf(v)));
        this.portsByIdentity = Map.copyOf(ports);
        this.endpoints = List.copyOf(endpoints);
        this.ipcache = List.copyOf(ipcache);
        // sized up front: a cluster's ipcache has ten thousand entries and more, and rehashing showed in profiles
        byId = sized(this.endpoints.size());
        byQualifiedName = sized(this.endpoints.size());
        byBareName = sized(this.endpoints.size());
        byAddress = sized(2 * this.endpoints.size());
        prefixes = sized(this.ipcache.size());
        for (Endpoint e : this.endpoints) {
            byId.put(e.id(), e);
            byQualifiedName.put(e.qualifiedName(), e);
            // a bare name two endpoints share names neither
            byBareName.put(e.name(), byBareName.containsKey(e.name()) ? null : e);
            for (String a : e.addresses()) {
                IpPrefix p = hostOf(a);
                if (p != null) byAddress.put(p, e); // a later endpoint wins an address, as in the ipcache
            }
        }
        List<TreeSet<Integer>> seen = List.of(new TreeSet<>(Collections.reverseOrder()), new TreeSet<>(Collections.reverseOrder()));
        Map<String, IpPrefix> known = previous == null ? Map.of() : previous.parsed;
        parsed = sized(this.ipcache.size());
        for (IpcacheEntry c : this.ipcache) {
            IpPrefix p = known.get(c.prefix());
            if (p == null) {
                try {
                    p = IpPrefix.parse(c.prefix());
                } catch (IllegalArgumentException e) {
                    continue; // a prefix nobody can match
                }
            }
            parsed.put(c.prefix(), p);
            prefixes.put(p, c);
            seen.get(p.isIpv4() ? 0 : 1).add(p.bits());
        }
        lengths.get(0).addAll(seen.get(0));
        lengths.get(1).addAll(seen.get(1));
    }

    /** A map for {@code n} entries without rehashing. */
    private static <K, V> Map<K, V> sized(int n) {
        return new HashMap<>((int) (n / 0.75f) + 1);
    }

    /** An endpoint address ({@code 10.0.0.1} or {@code 10.0.0.1/32}) as its host prefix, or null. */
    private static IpPrefix hostOf(String address) {
        try {
            return IpPrefix.parse(address.contains("/") ? address.substring(0, address.indexOf('/')) : address);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** Grows by one with every change the index publishes. */
    public long revision() {
        return revision;
    }

    public List<Endpoint> endpoints() {
        return endpoints;
    }

    /**
     * The named ports that the endpoints of an identity declare, on this node and (in cluster mode) on others: what
     * an egress rule naming a port resolves against for a peer of that identity, in the datapath and in the proxies
     * alike. The datapath keys policy on identities, so endpoints that share one share their names (a name two of
     * them give different numbers lists both). Empty for an identity whose endpoints declare none.
     *
     * @since 2.6
     */
    public List<NamedPort> namedPortsOf(long identity) {
        return portsByIdentity.getOrDefault(identity, List.of());
    }

    /** Every identity's named ports, as {@link #namedPortsOf} gives them. @since 2.6 */
    public Map<Long, List<NamedPort>> namedPorts() {
        return portsByIdentity;
    }

    /** IP prefix to identity, as pushed to the datapath. */
    public List<IpcacheEntry> ipcache() {
        return ipcache;
    }

    public Optional<Endpoint> byId(long id) {
        return Optional.ofNullable(byId.get(id));
    }

    /** By id, by {@code namespace/name}, or by bare name when it is unique: how commands name endpoints. */
    public Optional<Endpoint> byName(String idOrName) {
        if (idOrName == null || idOrName.isBlank()) return Optional.empty();
        String q = idOrName.trim();
        if (q.chars().allMatch(Character::isDigit) && q.length() <= 18) {
            Endpoint e = byId.get(Long.parseLong(q));
            if (e != null) return Optional.of(e);
        }
        return Optional.ofNullable(q.indexOf('/') >= 0 ? byQualifiedName.get(q) : byBareName.get(q));
    }

    /** The endpoint that has this address. */
    public Optional<Endpoint> byIp(InetAddress address) {
        return Optional.ofNullable(byAddress.get(IpPrefix.of(address)));
    }

    /** The endpoint that has this address ({@code 10.0.0.1}); empty for anything that is not an address. */
    public Optional<Endpoint> byIp(String address) {
        IpPrefix p = hostOf(address);
        return p == null ? Optional.empty() : Optional.ofNullable(byAddress.get(p));
    }

    /** The ipcache entry of the longest prefix that holds the address, as the datapath's lookup finds it. */
    public Optional<IpcacheEntry> ipcacheEntryOf(InetAddress address) {
        byte[] a = address.getAddress();
        for (int bits : lengths.get(a.length == 4 ? 0 : 1)) {
            IpcacheEntry e = prefixes.get(IpPrefix.of(address, bits));
            if (e != null) return Optional.of(e);
        }
        return Optional.empty();
    }

    /** The identity the datapath gives the address: its longest ipcache prefix's, else 0 (the caller's world). */
    public long identityOf(InetAddress address) {
        return ipcacheEntryOf(address).map(IpcacheEntry::identity).orElse(0L);
    }
}
