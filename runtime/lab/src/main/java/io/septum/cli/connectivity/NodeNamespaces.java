package io.septum.cli.connectivity;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Makes and removes the network namespace of one lab node: the namespace, its veth pair ({@code eth0} inside, the
 * host end a port of the lab's bridge), its address and routes. The bridge lives in the root namespace, or in
 * {@code parent}, the namespace of a multi-node lab's node.
 */
final class NodeNamespaces {
    private static final long CMD_TIMEOUT_MS = 10_000;

    private NodeNamespaces() {
    }

    /**
     * Makes {@code node}'s namespace and veth, with {@code mac} on its {@code eth0} (null: the kernel's) and
     * {@code routes} ({@code ip -batch} lines); {@code ipv6Off} keeps IPv6 off both ends, so that neighbour discovery
     * does not clutter the datapath's events.
     */
    static void create(NetLab.Node node, String parent, String bridge, String mac, String routes, boolean ipv6Off) {
        Cmd.run(CMD_TIMEOUT_MS, "ip", "netns", "add", node.netns()).check();
        List<String> veth = new ArrayList<>(List.of("link", "add", node.hostInterface(), "type", "veth", "peer", "name", "eth0"));
        if (mac != null) veth.addAll(List.of("address", mac));
        veth.addAll(List.of("netns", node.netns()));
        ip(parent, veth.toArray(String[]::new));
        if (ipv6Off && parent == null) disableIpv6(node.hostInterface());
        ip(parent, "link", "set", node.hostInterface(), "master", bridge, "up");
        Cmd.run(CMD_TIMEOUT_MS, String.join("\n",
                        "link set lo up",
                        "addr add " + node.ip() + "/32 dev eth0",
                        "link set eth0 up",
                        routes) + "\n",
                List.of("ip", "-n", node.netns(), "-batch", "-")).check();
        if (ipv6Off) {
            Cmd.run(CMD_TIMEOUT_MS, "ip", "netns", "exec", node.netns(),
                    "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1").check();
        }
    }

    /** {@code ip} in the namespace that holds the bridge: the root's, or {@code parent}; throws when it fails. */
    static void ip(String parent, String... args) {
        Cmd.run(CMD_TIMEOUT_MS, null, command(parent, args)).check();
    }

    /** Deletes a link of the bridge's namespace, quietly (it may be gone with its peer already). */
    static void deleteLink(String parent, String name) {
        Cmd.run(CMD_TIMEOUT_MS, null, command(parent, "link", "del", name));
    }

    private static List<String> command(String parent, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add("ip");
        if (parent != null) {
            cmd.add("-n");
            cmd.add(parent);
        }
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** Kills what still runs in a namespace, then deletes it. */
    static void remove(String netns) {
        Cmd.Result pids = Cmd.run(CMD_TIMEOUT_MS, "ip", "netns", "pids", netns);
        if (pids.ok()) {
            for (String s : pids.out().split("\\s+")) {
                if (s.isBlank()) continue;
                try {
                    ProcessHandle.of(Long.parseLong(s.trim())).ifPresent(Cmd::kill);
                } catch (NumberFormatException ignored) {
                    // not a pid
                }
            }
        }
        Cmd.run(CMD_TIMEOUT_MS, "ip", "netns", "del", netns);
    }

    static void disableIpv6(String ifname) {
        Path p = Path.of("/proc/sys/net/ipv6/conf", ifname, "disable_ipv6");
        try {
            if (Files.exists(p)) Files.writeString(p, "1");
        } catch (IOException ignored) {
            // IPv6 noise is harmless to the probes, only to the event listing
        }
    }
}
