package io.septum.source.netns.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Finds what the agent needs to know about a network namespace: the host-side end of its veth and its addresses.
 *
 * <p>The veth inside the namespace reports its peer's ifindex ({@code link_index}); the root-namespace link with that
 * ifindex whose own {@code link_index} points back at the inner link is the host side. Checking both ways matters:
 * ifindexes are per namespace, so an unrelated root link can have the same number.
 */
class NetnsInspector {
    static final Path NETNS_DIR = Path.of("/var/run/netns");
    private static final Pattern NETNS_NAME = Pattern.compile("[A-Za-z0-9_.][A-Za-z0-9_.-]{0,254}");
    private static final Pattern IFNAME = Pattern.compile("[A-Za-z0-9_.@-]{1,15}");

    private final CommandRunner runner;
    private final ObjectMapper json = new ObjectMapper();

    NetnsInspector(CommandRunner runner) {
        this.runner = runner;
    }

    /** The namespace no longer exists: its endpoint is gone. */
    static final class GoneException extends IOException {
        private static final long serialVersionUID = 1L;

        GoneException(String message) {
            super(message);
        }
    }

    record Discovery(String hostInterface, int hostIfindex, List<String> addresses) {
    }

    /** Checks a namespace reference, a name under /var/run/netns or an absolute path; returns null when fine. */
    static String checkNetns(String netns) {
        if (netns == null || netns.isEmpty()) return "netns is required";
        if (netns.startsWith("/")) {
            Path p = Path.of(netns).normalize();
            if (!p.toString().equals(netns)) return "netns path \"" + netns + "\" is not normalized";
            return null;
        }
        if (!NETNS_NAME.matcher(netns).matches()) {
            return "netns \"" + netns + "\" is neither a name under " + NETNS_DIR + " (letters, digits, '.', '_', '-')"
                    + " nor an absolute path such as /proc/<pid>/ns/net";
        }
        return null;
    }

    static String checkInterface(String ifname) {
        if (ifname == null) return null;
        if (!IFNAME.matcher(ifname).matches() || ifname.equals(".") || ifname.equals("..")) {
            return "interface \"" + ifname + "\" is not a valid interface name (at most 15 characters)";
        }
        return null;
    }

    static Path pathOf(String netns) {
        return netns.startsWith("/") ? Path.of(netns) : NETNS_DIR.resolve(netns);
    }

    /**
     * Whether the namespace is known not to exist. {@link Files#notExists} answers false when it cannot tell (a
     * permission or I/O error), and only a namespace positively gone may drop an endpoint or an operator's record.
     */
    static boolean gone(String netns) {
        return Files.notExists(pathOf(netns));
    }

    /** {@code ip} with args, run inside the namespace. Names go through {@code ip -n}; paths through nsenter. */
    private List<String> ipIn(String netns, String... args) {
        List<String> argv = new ArrayList<>();
        if (netns.startsWith("/")) {
            argv.addAll(List.of("nsenter", "--net=" + netns, "ip"));
        } else {
            argv.addAll(List.of("ip", "-n", netns));
        }
        argv.addAll(List.of(args));
        return argv;
    }

    /** The root namespace's links; one call per scan, shared by every endpoint. */
    JsonNode rootLinks() throws IOException {
        return json.readTree(runner.run(List.of("ip", "-j", "link", "show")));
    }

    /**
     * Inspects one namespace.
     *
     * @param hostInterface the declared host-side interface, or null to find it
     * @param rootLinks     {@link #rootLinks()}, or null to fetch it
     */
    Discovery inspect(String netns, String hostInterface, JsonNode rootLinks) throws IOException {
        if (gone(netns)) {
            throw new GoneException("network namespace " + netns + " does not exist (" + pathOf(netns) + ")");
        }
        JsonNode links;
        try {
            links = json.readTree(runner.run(ipIn(netns, "-j", "addr", "show")));
        } catch (CommandRunner.CommandException e) {
            if (gone(netns)) throw new GoneException("network namespace " + netns + " went away");
            throw e;
        }
        List<String> addresses = new ArrayList<>();
        JsonNode veth = null;
        for (JsonNode link : links) {
            if ("loopback".equals(link.path("link_type").asText()) || "lo".equals(link.path("ifname").asText())) continue;
            boolean hasAddress = false;
            for (JsonNode a : link.path("addr_info")) {
                String family = a.path("family").asText();
                String scope = a.path("scope").asText();
                String local = a.path("local").asText("");
                if (!("inet".equals(family) || "inet6".equals(family)) || local.isEmpty()) continue;
                if ("link".equals(scope) || "host".equals(scope)) continue;
                if (local.startsWith("fe80:") || local.startsWith("169.254.")) continue;
                if (!addresses.contains(local)) addresses.add(local);
                hasAddress = true;
            }
            // The namespace's end of a veth names its peer; prefer the one that carries addresses.
            if (link.has("link_index") && (veth == null || hasAddress && !hasAddresses(veth))) veth = link;
        }
        if (hostInterface != null) {
            Path idx = Path.of("/sys/class/net", hostInterface, "ifindex");
            if (!Files.exists(idx)) {
                throw new IOException("host interface " + hostInterface + " declared for netns " + netns
                        + " does not exist in the host network namespace");
            }
            return new Discovery(hostInterface, Integer.parseInt(Files.readString(idx).trim()), addresses);
        }
        if (veth == null) {
            throw new IOException("network namespace " + netns + " has no veth whose peer could be the host side;"
                    + " create one (ip link add <host> type veth peer name eth0 netns " + netns + ") or declare"
                    + " the host interface");
        }
        int peerIndex = veth.path("link_index").asInt();
        int innerIndex = veth.path("ifindex").asInt();
        JsonNode root = rootLinks != null ? rootLinks : rootLinks();
        JsonNode match = null;
        for (JsonNode l : root) {
            if (l.path("ifindex").asInt() != peerIndex) continue;
            if (l.has("link_index") && l.path("link_index").asInt() != innerIndex) continue;
            match = l;
        }
        if (match == null) {
            throw new IOException("the peer of " + veth.path("ifname").asText() + " in network namespace " + netns
                    + " (ifindex " + peerIndex + ") is not in the host network namespace; declare the interface to use");
        }
        return new Discovery(match.path("ifname").asText(), peerIndex, addresses);
    }

    private static boolean hasAddresses(JsonNode link) {
        for (JsonNode a : link.path("addr_info")) {
            if (!"link".equals(a.path("scope").asText()) && !"host".equals(a.path("scope").asText())) return true;
        }
        return false;
    }
}
