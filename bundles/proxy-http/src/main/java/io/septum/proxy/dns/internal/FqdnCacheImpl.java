package io.septum.proxy.dns.internal;

import io.septum.api.fqdn.FqdnCache;
import io.septum.api.fqdn.FqdnEntry;
import io.septum.support.io.AtomicFiles;
import io.septum.support.thread.Listeners;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The names the DNS proxy saw answered, with their addresses, each until its TTL (raised to a minimum, as Cilium's
 * {@code tofqdns-min-ttl}) runs out. Kept in a file of the state directory, one entry per line
 * ({@code name ip ttl expires endpoint}), written whenever an address comes or goes, so that after a restart the
 * same addresses keep their {@code toFQDNs} allows and the connections to them stay up. A line that does not
 * read is skipped and logged; the rest still loads.
 */
final class FqdnCacheImpl implements FqdnCache {
    private static final Logger LOG = Logger.getLogger(FqdnCacheImpl.class.getName());

    private final Path file;
    private final LongSupplier nowMillis;
    private final long minTtlSeconds;
    private final long maxTtlSeconds;
    private final int maxEntries;
    /** Whether the file is behind the entries; guarded by this. */
    private boolean dirty;
    /** name -> ip -> entry; guarded by this. */
    private final Map<String, Map<String, FqdnEntry>> byName = new TreeMap<>();
    private final AtomicLong revision = new AtomicLong();
    private final Listeners<Runnable> listeners = new Listeners<>(LOG, "an FQDN cache listener failed");

    /**
     * @param file          null keeps nothing across restarts
     * @param maxTtlSeconds the longest an answer is kept, whatever its TTL says
     */
    FqdnCacheImpl(Path file, LongSupplier nowMillis, long minTtlSeconds, long maxTtlSeconds, int maxEntries) {
        this.file = file;
        this.nowMillis = nowMillis;
        this.minTtlSeconds = Math.max(0, minTtlSeconds);
        this.maxTtlSeconds = Math.max(this.minTtlSeconds, maxTtlSeconds);
        this.maxEntries = Math.max(1, maxEntries);
        load();
    }

    @Override
    public synchronized List<FqdnEntry> entries() {
        long now = nowMillis.getAsLong();
        List<FqdnEntry> out = new ArrayList<>();
        for (Map<String, FqdnEntry> ips : byName.values()) {
            for (FqdnEntry e : ips.values()) if (e.expires() > now) out.add(e);
        }
        return out;
    }

    /**
     * Records the addresses an allowed answer for {@code name} returned. A new address (or name) changes the
     * cache, and its listeners are told; a refreshed TTL only moves the expiry. The file follows on the next
     * {@link #flush} (the caller is the proxy's event loop, which must not wait on a disk). Loopback, link-local and
     * unspecified addresses are never learned (no name should open those). Beyond {@code maxEntries} the entries
     * that expire first make room. Returns the addresses of the answer the cache now holds for the name, known
     * before or not: the ones whose allows the client's next connection needs (a concurrent lookup of the same name
     * may have added them a moment ago, and their allows may not be in force yet).
     */
    List<String> learn(String name, List<DnsMessage.Answer> answers, long endpointId) {
        if (answers.isEmpty()) return List.of();
        String n = normalize(name);
        long now = nowMillis.getAsLong();
        boolean changed = false;
        List<String> held = new ArrayList<>();
        synchronized (this) {
            Map<String, FqdnEntry> ips = byName.computeIfAbsent(n, k -> new TreeMap<>());
            for (DnsMessage.Answer a : answers) {
                String ip = literal(a.ip());
                if (ip == null || local(ip)) continue;
                long ttl = Math.min(Math.max(a.ttl(), minTtlSeconds), maxTtlSeconds);
                FqdnEntry had = ips.put(ip, new FqdnEntry(n, ip, ttl, now + ttl * 1000, endpointId));
                held.add(ip);
                if (had == null || had.expires() <= now) changed = true;
            }
            changed |= trim();
            dirty = true;
        }
        if (changed) changed();
        return held;
    }

    /** Writes the file when the entries changed since the last write; on the caller's thread (not the proxy's). */
    void flush() {
        synchronized (this) {
            if (!dirty) return;
            dirty = false;
            save();
        }
    }

    private static boolean local(String ip) {
        try {
            java.net.InetAddress a = java.net.InetAddress.getByName(ip);
            return a.isLoopbackAddress() || a.isLinkLocalAddress() || a.isAnyLocalAddress();
        } catch (java.net.UnknownHostException e) {
            return true;
        }
    }

    @Override
    public int clean(String name) {
        int removed = 0;
        synchronized (this) {
            if (name == null) {
                for (Map<String, FqdnEntry> ips : byName.values()) removed += ips.size();
                byName.clear();
            } else {
                Map<String, FqdnEntry> ips = byName.remove(normalize(name));
                removed = ips == null ? 0 : ips.size();
            }
            if (removed > 0) save();
        }
        if (removed > 0) changed();
        return removed;
    }

    /** Drops expired entries; true when any went. */
    boolean expire() {
        boolean removed = false;
        synchronized (this) {
            long now = nowMillis.getAsLong();
            for (Map<String, FqdnEntry> ips : byName.values()) removed |= ips.values().removeIf(e -> e.expires() <= now);
            byName.values().removeIf(Map::isEmpty);
            if (removed) dirty = true;
        }
        if (removed) changed();
        return removed;
    }

    @Override
    public long revision() {
        return revision.get();
    }

    @Override
    public void addListener(Runnable listener) {
        listeners.add(listener);
    }

    @Override
    public void removeListener(Runnable listener) {
        listeners.remove(listener);
    }

    private void changed() {
        revision.incrementAndGet();
        listeners.tell(Runnable::run);
    }

    /** Over the limit: the entries that expire first go. Caller holds the lock. */
    private boolean trim() {
        int size = byName.values().stream().mapToInt(Map::size).sum();
        if (size <= maxEntries) return false;
        List<FqdnEntry> all = new ArrayList<>();
        byName.values().forEach(ips -> all.addAll(ips.values()));
        all.sort(java.util.Comparator.comparingLong(FqdnEntry::expires));
        for (FqdnEntry e : all.subList(0, size - maxEntries)) {
            Map<String, FqdnEntry> ips = byName.get(e.name());
            ips.remove(e.ip());
            if (ips.isEmpty()) byName.remove(e.name());
        }
        return true;
    }

    /** An address literal in one spelling (Java's), or null; never resolves a name. */
    static String literal(String ip) {
        if (ip == null || !ip.matches("[0-9a-fA-F:.]+")) return null;
        try {
            return java.net.InetAddress.getByName(ip).getHostAddress();
        } catch (java.net.UnknownHostException e) {
            return null;
        }
    }

    static String normalize(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        return n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
    }

    /** Caller holds the lock. A failed write is logged: the entries still hold in memory. */
    private void save() {
        if (file == null) return;
        StringBuilder b = new StringBuilder();
        for (Map<String, FqdnEntry> ips : byName.values()) {
            for (FqdnEntry e : ips.values()) {
                b.append(e.name()).append(' ').append(e.ip()).append(' ').append(e.ttl()).append(' ')
                        .append(e.expires()).append(' ').append(e.endpointId()).append('\n');
            }
        }
        try {
            Files.createDirectories(file.getParent());
            AtomicFiles.write(file, b.toString().getBytes(StandardCharsets.UTF_8), AtomicFiles.OWNER_ONLY);
        } catch (IOException e) {
            LOG.log(Level.WARNING, "cannot write the FQDN cache " + file + ": " + e.getMessage()
                    + "; its entries hold until the agent stops", e);
        }
    }

    private void load() {
        if (file == null) return;
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return;
        } catch (IOException e) {
            LOG.log(Level.SEVERE, "cannot read the FQDN cache " + file + ": " + e.getMessage() + "; toFQDNs allows"
                    + " nothing until the names are looked up again", e);
            return;
        }
        long now = nowMillis.getAsLong();
        int bad = 0;
        for (String line : lines) {
            String[] f = line.strip().split(" ");
            try {
                if (f.length != 5 || f[0].isEmpty()) throw new IllegalArgumentException("expected 5 fields");
                String ip = literal(f[1]);
                if (ip == null) throw new IllegalArgumentException("not an address");
                FqdnEntry e = new FqdnEntry(f[0], ip,
                        Long.parseLong(f[2]), Long.parseLong(f[3]), Long.parseLong(f[4]));
                if (e.expires() > now) byName.computeIfAbsent(e.name(), k -> new TreeMap<>()).put(e.ip(), e);
            } catch (RuntimeException e) {
                if (line.isBlank()) continue;
                bad++;
            }
        }
        if (bad > 0) LOG.warning("the FQDN cache " + file + " has " + bad + " unreadable line(s), skipped");
    }
}
