package io.septum.cli.connectivity;

import com.fasterxml.jackson.core.type.TypeReference;
import io.septum.api.Endpoint;
import io.septum.api.flow.Flow;
import io.septum.api.flow.ProbeResult;
import io.septum.cli.AgentClient;
import io.septum.cli.SeptumCommand;
import io.septum.support.probe.NetnsProbe;
import io.septum.view.Views;
import java.io.IOException;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code septum probe FROM TO PORT[/PROTO]}: one real connection attempt from a managed endpoint's network namespace
 * to another endpoint (or an address), then the verdicts the agent recorded for it. The connection's outcome says
 * what the network did; the flows say which rule decided.
 */
@Command(name = "probe", mixinStandardHelpOptions = true,
        description = {"Send one real connection attempt from endpoint FROM (inside its network namespace) to endpoint"
                + " TO (or an IPv4 address) on PORT, then show the verdicts the agent recorded for it.",
                "PORT is a number with /TCP (the default), a number with /HTTP for one HTTP request (--method,"
                        + " --path: judged by the L7 proxy where HTTP rules apply), or ICMP for one echo request (ping)."
                        + " A TCP attempt is connected (allowed, something listens), refused (allowed, nothing listens:"
                        + " the reset came back) or timed out (dropped, or nothing answers); an HTTP request is answered"
                        + " (with its status), denied (the L7 proxy's 403 Access denied) or timed out. Needs root (it"
                        + " enters FROM's namespace)."
                        + " Exit 0 when the attempt got through, 1 when it timed out, 2 on bad input, 3 when the agent"
                        + " cannot be asked or the attempt cannot be made (no nsenter, not root)."})
public class ProbeCommand implements SeptumCommand, Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "FROM", description = "The source endpoint: id, namespace/name or a unique name.")
    String from;

    @Parameters(index = "1", paramLabel = "TO", description = "The destination endpoint (id, namespace/name, name) or an IPv4 address.")
    String to;

    @Parameters(index = "2", paramLabel = "PORT[/PROTO]", description = "80, 80/TCP, 80/HTTP, or ICMP.")
    String port;

    @Option(names = "--method", defaultValue = "GET", paramLabel = "METHOD",
            description = "The HTTP request's method (PORT/HTTP). Default: ${DEFAULT-VALUE}.")
    String method;

    @Option(names = "--path", defaultValue = "/", paramLabel = "PATH",
            description = "The HTTP request's path (PORT/HTTP). Default: ${DEFAULT-VALUE}.")
    String path;

    @Option(names = "--timeout", defaultValue = "1s", paramLabel = "DURATION",
            description = "How long the attempt waits (e.g. 1s, 500ms). Default: ${DEFAULT-VALUE}.")
    String timeout;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        String proto;
        int p;
        String[] parts = port.trim().split("/", 2);
        if (parts[0].equalsIgnoreCase("ICMP")) {
            proto = "ICMP";
            p = LabProbes.ICMP_ECHO_REQUEST;
        } else {
            proto = parts.length > 1 ? parts[1].toUpperCase(Locale.ROOT) : "TCP";
            try {
                p = Integer.parseInt(parts[0]);
            } catch (NumberFormatException e) {
                p = -1;
            }
            if (p < 1 || p > 65535 || !(proto.equals("TCP") || proto.equals("HTTP"))) {
                err.println("septum: PORT must be 1-65535 with /TCP or /HTTP, or ICMP (got \"" + port + "\")");
                return 2;
            }
            if (proto.equals("HTTP") && (!method.matches("[A-Z]{1,16}") || !path.startsWith("/")
                    || path.chars().anyMatch(c -> c <= ' ' || c >= 0x7f))) {
                err.println("septum: --method must be an upper-case HTTP method and --path start with / (no spaces)");
                return 2;
            }
        }
        Duration wait;
        try {
            wait = ConnectivityCommand.CliOptions.duration(timeout);
        } catch (IllegalArgumentException e) {
            err.println("septum: --timeout: " + e.getMessage());
            return 2;
        }
        // closed before the JVM exits, which otherwise waits 300 ms for its I/O thread (AgentClient.close)
        try (AgentClient client = ConnectivityCommand.CliOptions.client(spec)) {
            return probe(client, out, err, proto, p, wait);
        }
    }

    private int probe(AgentClient client, PrintWriter out, PrintWriter err, String proto, int p, Duration wait) {
        Endpoint source;
        String address;
        String target;
        try {
            source = client.get("/v1/endpoints/" + AgentClient.segment(from), Endpoint.class);
            if (to.matches("[0-9]+(\\.[0-9]*)+")) {
                if (!NetnsProbe.isCanonicalIpv4(to)) {
                    err.println("septum: \"" + to + "\" is not an IPv4 address as 10.0.0.1 writes one (no leading zeros)");
                    return 2;
                }
                address = to;
                target = to;
            } else {
                Endpoint dst = client.get("/v1/endpoints/" + AgentClient.segment(to), Endpoint.class);
                address = dst.addresses().stream().filter(a -> !a.contains(":")).findFirst().orElse(null);
                target = dst.qualifiedName();
                if (address == null) {
                    err.println("septum: endpoint " + target + " has no IPv4 address to probe");
                    return 2;
                }
            }
        } catch (io.septum.cli.AgentException e) {
            err.println("septum: " + e.getMessage());
            return e.status() == 404 || e.status() == 400 ? 2 : 3; // an unknown endpoint is bad input
        } catch (RuntimeException e) {
            err.println("septum: " + e.getMessage());
            return 3;
        }
        if (source.netns() == null || source.netns().isBlank()) {
            err.println("septum: endpoint " + source.qualifiedName() + " has no network namespace of its own to probe"
                    + " from (source " + source.source() + ")");
            return 2;
        }
        String netns = NetnsProbe.path(source.netns());
        Instant start = Instant.now();
        NetnsProbe.Outcome r = switch (proto) {
            case "ICMP" -> NetnsProbe.ping(netns, address, wait);
            case "HTTP" -> NetnsProbe.http(netns, method, address, p, path, wait);
            default -> NetnsProbe.tcp(netns, address, p, wait);
        };
        String result = r.result();
        String detail = r.detail();
        boolean passed = r.passed();
        List<Flow> flows = List.of();
        String query = "/v1/flows?since=" + AgentClient.segment(start.minusMillis(50).toString())
                + "&from-endpoint=" + AgentClient.segment(String.valueOf(source.id())) + "&to-ip="
                + AgentClient.segment(address) + (proto.equals("ICMP") ? "" : "&port=" + p) + "&last=20";
        // the verdicts the datapath reported for this attempt (the source's egress, the target's ingress); the
        // observer enriches events on its own thread, so they may take a moment to be there
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1500);
        try {
            // until some are there and a query 100 ms later finds no more: the destination's ingress verdict may come
            // a moment after the source's egress one
            int seen = -1;
            while (true) {
                flows = client.get(query, new TypeReference<List<Flow>>() { });
                if ((!flows.isEmpty() && flows.size() == seen) || System.nanoTime() > until) break;
                seen = flows.size();
                Thread.sleep(100);
            }
        } catch (RuntimeException e) {
            detail = detail + "; the flows could not be read: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        ProbeResult res = new ProbeResult(source.qualifiedName(), target, address, p, proto, result, passed, detail, flows);
        if ("json".equals(ConnectivityCommand.CliOptions.output(spec))) {
            try {
                out.println(AgentClient.newMapper().writerWithDefaultPrettyPrinter().writeValueAsString(res));
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        } else {
            out.println(res.from() + " -> " + res.to() + " (" + address + ") " + (proto.equals("ICMP") ? "ICMP echo"
                    : proto.equals("HTTP") ? method + " " + path + " on " + p + "/TCP" : p + "/" + proto) + ": " + result + (detail == null || detail.isBlank() ? "" : " (" + detail + ")"));
            if (flows.isEmpty()) {
                out.println("No verdict recorded for it (the observer may be off, or the path is not an endpoint's).");
            } else {
                out.print(Views.flows(flows).render());
            }
        }
        out.flush();
        return passed ? 0 : result.equals("error") ? 3 : 1;
    }
}
