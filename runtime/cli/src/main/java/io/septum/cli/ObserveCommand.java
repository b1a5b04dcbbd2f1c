package io.septum.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowNodeStatus;
import io.septum.view.FlowTableStream;
import io.septum.view.Views;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "observe", mixinStandardHelpOptions = true,
        description = "Show flows: every verdict and drop the datapath reported, with both endpoints' names, "
                + "identities and labels and the rule that decided, from the agent's flow store (which keeps "
                + "history across restarts). Without --last, --since or --follow, the last 20 flows. Output "
                + "-o compact (default, as Hubble prints), -o json (one flow per line) or -o table. With --cluster, "
                + "every node's flows, merged by time within a bounded window (see --cluster).")
final class ObserveCommand extends AgentCommand {
    /** Hubble's default when no range is given. */
    static final int DEFAULT_LAST = 20;

    @Option(names = "--from-endpoint", paramLabel = "EP", description = "Source endpoint: id, namespace/name or name.")
    String fromEndpoint;

    @Option(names = "--to-endpoint", paramLabel = "EP", description = "Destination endpoint: id, namespace/name or name.")
    String toEndpoint;

    @Option(names = "--from-label", paramLabel = "LABEL", split = ",",
            description = "Labels the source carries (key=value or source:key=value); repeatable.")
    List<String> fromLabel = new ArrayList<>();

    @Option(names = "--to-label", paramLabel = "LABEL", split = ",", description = "Labels the destination carries; repeatable.")
    List<String> toLabel = new ArrayList<>();

    @Option(names = "--from-ip", paramLabel = "IP", description = "Source address or prefix (10.199.0.0/16).")
    String fromIp;

    @Option(names = "--to-ip", paramLabel = "IP", description = "Destination address or prefix.")
    String toIp;

    @Option(names = "--namespace", paramLabel = "NS", description = "The source or the destination is in this namespace.")
    String namespace;

    @Option(names = "--verdict", paramLabel = "VERDICT", description = "FORWARDED, DROPPED, AUDIT or REDIRECTED.")
    String verdict;

    @Option(names = "--type", paramLabel = "TYPE", description = "drop, policy-verdict, trace or l7.")
    String type;

    @Option(names = "--protocol", paramLabel = "PROTO", description = "TCP, UDP, SCTP, ICMPv4, ICMPv6.")
    String protocol;

    @Option(names = "--port", paramLabel = "PORT", description = "The source or the destination port.")
    Integer port;

    @Option(names = "--http-method", paramLabel = "METHOD", description = "HTTP method (L7 flows).")
    String httpMethod;

    @Option(names = "--http-path", paramLabel = "PATH", description = "Prefix of the HTTP path (L7 flows).")
    String httpPath;

    @Option(names = "--http-status", paramLabel = "CODE", description = "HTTP status (404) or class (5+) (L7 flows).")
    String httpStatus;

    @Option(names = "--since", paramLabel = "TIME", description = "Flows since: a duration back (30s, 5m, 2h, 1d) or RFC 3339.")
    String since;

    @Option(names = "--until", paramLabel = "TIME", description = "Flows until: a duration back or RFC 3339.")
    String until;

    @Option(names = "--last", paramLabel = "N", description = "The last N matching flows (0: every one held).")
    Integer last;

    @Option(names = {"-f", "--follow"}, description = "Keep printing new flows as they come (Ctrl-C stops).")
    boolean follow;

    @Option(names = "--cluster", description = "Every node's flows, merged by this node's agent from the other nodes'"
            + " peer flow services (see docs/cluster.md), each with its node's name. Ordered by time: exactly without"
            + " --follow (the newest N of all nodes); with --follow within a bounded window (relayWindowMillis, 1 s by"
            + " default): a flow that reaches the agent later than that after newer ones were shown is shown late,"
            + " out of order. A node that cannot be read is a line in the output ([node]: node unreachable: why), and"
            + " the other nodes' flows go on. Standalone: this node's flows.")
    boolean cluster;

    /** The three ways to print a flow. */
    enum Format { COMPACT, JSON, TABLE }

    @Override
    public Integer call() {
        SeptumCli cli = cli();
        Format format = format(cli);
        if (last != null && last < 0) throw new CliException(CliException.INVALID_INPUT, "--last must be 0 or more, not " + last);
        int n = last != null ? last : follow || since != null ? 0 : DEFAULT_LAST;
        String query = query(n);
        PrintWriter out = cli.out();
        if (cluster) return cluster(cli, format, query, out);
        if (!follow) {
            List<Flow> flows = cli.client().list("/v1/flows" + query, Flow.class);
            if (format == Format.TABLE) {
                out.print(Views.flows(flows).render());
            } else {
                for (Flow f : flows) out.println(line(cli, format, f));
            }
            out.flush();
            return 0;
        }
        FlowTableStream table = new FlowTableStream(false);
        cli.client().stream("/v1/flows" + query + "&follow=true", text -> {
            Flow f;
            try {
                f = cli.client().mapper().readValue(text, Flow.class);
            } catch (JsonProcessingException x) {
                cli.err().println("septum: skipping a line the agent sent that is not a flow: " + x.getOriginalMessage());
                return;
            }
            if (format == Format.TABLE) {
                table.lines(f).forEach(out::println);
            } else {
                out.println(format == Format.JSON ? text : Views.flow(f));
            }
            out.flush();
        });
        if (Thread.currentThread().isInterrupted()) return 0;
        cli.err().println("septum: the agent ended the flow stream (did it stop? see 'septum status')");
        return 1;
    }

    /**
     * {@code --cluster}: the agent's relay answers JSON lines, finite or followed alike, flows and node reports mixed;
     * each is printed as it comes (the relay has ordered the flows already).
     */
    private int cluster(SeptumCli cli, Format format, String query, PrintWriter out) {
        FlowTableStream table = new FlowTableStream(true);
        cli.client().stream("/v1/flows" + query + "&cluster=true" + (follow ? "&follow=true" : ""), text -> {
            com.fasterxml.jackson.databind.JsonNode node;
            try {
                node = cli.client().mapper().readTree(text);
                if (node.has(FlowNodeStatus.KEY)) {
                    FlowNodeStatus s = cli.client().mapper().treeToValue(node.get(FlowNodeStatus.KEY), FlowNodeStatus.class);
                    out.println(format == Format.JSON ? text : Views.nodeStatus(s));
                } else {
                    Flow f = cli.client().mapper().treeToValue(node, Flow.class);
                    if (format == Format.TABLE) {
                        table.lines(f).forEach(out::println);
                    } else {
                        out.println(format == Format.JSON ? text : Views.flow(f, true));
                    }
                }
            } catch (JsonProcessingException x) {
                cli.err().println("septum: skipping a line the agent sent that is no flow: " + x.getOriginalMessage());
                return;
            }
            out.flush();
        });
        if (!follow || Thread.currentThread().isInterrupted()) return 0;
        cli.err().println("septum: the agent ended the flow stream (did it stop? see 'septum status')");
        return 1;
    }

    private String line(SeptumCli cli, Format format, Flow f) {
        if (format == Format.COMPACT) return Views.flow(f);
        try {
            return cli.client().mapper().writeValueAsString(f);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot print the flow as JSON: " + e.getOriginalMessage(), e);
        }
    }

    /** {@code -o}: compact unless the user named json or table. */
    private Format format(SeptumCli cli) {
        if (!outputGiven()) return Format.COMPACT;
        String o = cli.outputText().strip().toLowerCase(Locale.ROOT);
        return switch (o) {
            case "compact" -> Format.COMPACT;
            case "json" -> Format.JSON;
            case "table" -> Format.TABLE;
            default -> throw new CliException(CliException.INVALID_INPUT,
                    "unknown output format \"" + o + "\" (expected compact, json or table)");
        };
    }

    private boolean outputGiven() {
        for (CommandLine.ParseResult r = spec.root().commandLine().getParseResult(); r != null;
             r = r.subcommand()) {
            if (r.hasMatchedOption("--output")) return true;
        }
        return false;
    }

    String query(int n) {
        StringBuilder q = new StringBuilder("?last=").append(n);
        add(q, "from-endpoint", fromEndpoint);
        add(q, "to-endpoint", toEndpoint);
        for (String l : fromLabel) add(q, "from-label", l);
        for (String l : toLabel) add(q, "to-label", l);
        add(q, "from-ip", fromIp);
        add(q, "to-ip", toIp);
        add(q, "namespace", namespace);
        add(q, "verdict", verdict);
        add(q, "type", type);
        add(q, "protocol", protocol);
        add(q, "port", port == null ? null : String.valueOf(port));
        add(q, "http-method", httpMethod);
        add(q, "http-path", httpPath);
        add(q, "http-status", httpStatus);
        add(q, "since", since);
        add(q, "until", until);
        return q.toString();
    }

    private static void add(StringBuilder q, String k, String v) {
        if (v == null || v.isBlank()) return;
        q.append('&').append(k).append('=').append(URLEncoder.encode(v.strip(), StandardCharsets.UTF_8));
    }
}
