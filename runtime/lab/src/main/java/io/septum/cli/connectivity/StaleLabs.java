package io.septum.cli.connectivity;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Finds and removes what {@link NetLab}s left when their process was killed ({@code kill -9}): namespaces, links,
 * recorded processes and directories of runs whose owner file names a process that is gone (see {@link LabRuns}).
 */
final class StaleLabs {
    private static final long CMD_TIMEOUT_MS = 10_000;

    private StaleLabs() {
    }

    /** See {@link NetLab#cleanupStale(String)}. */
    static List<String> cleanup(String prefix) {
        List<String> removed = new ArrayList<>();
        Set<String> stale = new HashSet<>();
        Cmd.Result ns = Cmd.run(CMD_TIMEOUT_MS, "ip", "netns", "list");
        for (String line : ns.out().split("\n")) {
            String name = line.trim().split("\\s+")[0];
            String id = NetLab.runIdOf(name, NetLab.NETNS_PREFIX);
            if (id == null || !id.startsWith(prefix)) continue;
            if (!stale.contains(id) && !LabRuns.isStale(id)) continue;
            stale.add(id);
            NodeNamespaces.remove(name);
            removed.add("netns " + name);
        }
        Cmd.Result links = Cmd.run(CMD_TIMEOUT_MS, "ip", "-o", "link", "show");
        for (String line : links.out().split("\n")) {
            String[] f = line.split(":\\s+", 3);
            if (f.length < 2) continue;
            String name = f[1].split("@")[0].trim();
            String id = name.startsWith(NetLab.BRIDGE_PREFIX) ? NetLab.runIdOf(name, NetLab.BRIDGE_PREFIX)
                    : NetLab.runIdOf(name, NetLab.VETH_PREFIX);
            if (id == null || !id.startsWith(prefix)) continue;
            if (!stale.contains(id) && !LabRuns.isStale(id)) continue;
            stale.add(id);
            Cmd.run(CMD_TIMEOUT_MS, "ip", "link", "del", name);
            removed.add("link " + name);
        }
        Path base = LabRuns.stateBase();
        try (Stream<Path> s = Files.exists(base) ? Files.list(base) : Stream.empty()) {
            for (Path p : s.toList()) {
                String file = p.getFileName().toString();
                String id = file.endsWith(".owner") ? file.substring(0, file.length() - ".owner".length()) : file;
                if (!LabRuns.RUN_ID.matcher(id).matches() || !id.startsWith(prefix)) continue;
                if (!stale.contains(id) && !LabRuns.isStale(id)) continue;
                stale.add(id);
                if (Files.isDirectory(p)) LabRuns.killRecorded(p);
                LabRuns.deleteTree(p);
                removed.add("file " + p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return removed;
    }

    /** Whether any namespace of lab {@code runId} still exists. */
    static boolean exists(String runId) {
        try (Stream<Path> s = Files.list(Path.of("/run/netns"))) {
            return s.anyMatch(p -> runId.equals(NetLab.runIdOf(p.getFileName().toString(), NetLab.NETNS_PREFIX)));
        } catch (IOException e) {
            return false;
        }
    }
}
