package io.septum.shell.internal;

import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowFilter;
import io.septum.api.flow.FlowNodeStatus;
import io.septum.api.flow.FlowObserver;
import io.septum.api.flow.FlowRelay;
import io.septum.api.flow.FlowSubscription;
import io.septum.view.FlowTableStream;
import io.septum.view.Views;
import java.io.IOException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/**
 * {@code observe} (scope {@code septum}): flows from the agent's flow store, with the CLI's filters and formats
 * ({@code -o compact}, the default, {@code json}, {@code table}). Labels are comma-separated, as Gogo takes
 * each option once. {@code --cluster} asks the agent's flow relay, as {@code septum observe --cluster} and
 * {@code /v1/flows?cluster=true} do: every node's flows with their node's name, and a line for a node that cannot
 * be read.
 */
@Component(service = ObserveCommand.class)
@GogoCommand(scope = "septum", function = "observe")
public final class ObserveCommand extends ShellSupport {
    private static final String NONE = "";

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    volatile FlowObserver observer;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    volatile FlowRelay relay;

    @Descriptor("Show flows (verdicts and drops with endpoint names and the deciding rule); -f follows until Ctrl-C")
    public void observe(
            @Descriptor("output format: compact, json (one flow per line) or table")
            @Parameter(names = {"-o", "--output"}, absentValue = "compact") String output,
            @Descriptor("source endpoint: id, namespace/name or name") @Parameter(names = "--from-endpoint", absentValue = NONE) String fromEndpoint,
            @Descriptor("destination endpoint") @Parameter(names = "--to-endpoint", absentValue = NONE) String toEndpoint,
            @Descriptor("source labels, comma-separated") @Parameter(names = "--from-label", absentValue = NONE) String fromLabel,
            @Descriptor("destination labels, comma-separated") @Parameter(names = "--to-label", absentValue = NONE) String toLabel,
            @Descriptor("source address or prefix") @Parameter(names = "--from-ip", absentValue = NONE) String fromIp,
            @Descriptor("destination address or prefix") @Parameter(names = "--to-ip", absentValue = NONE) String toIp,
            @Descriptor("source or destination namespace") @Parameter(names = "--namespace", absentValue = NONE) String namespace,
            @Descriptor("FORWARDED, DROPPED, AUDIT or REDIRECTED") @Parameter(names = "--verdict", absentValue = NONE) String verdict,
            @Descriptor("drop, policy-verdict, trace or l7") @Parameter(names = "--type", absentValue = NONE) String type,
            @Descriptor("TCP, UDP, SCTP, ICMPv4, ICMPv6") @Parameter(names = "--protocol", absentValue = NONE) String protocol,
            @Descriptor("source or destination port") @Parameter(names = "--port", absentValue = "-1") int port,
            @Descriptor("HTTP method") @Parameter(names = "--http-method", absentValue = NONE) String httpMethod,
            @Descriptor("HTTP path prefix") @Parameter(names = "--http-path", absentValue = NONE) String httpPath,
            @Descriptor("HTTP status (404) or class (5+)") @Parameter(names = "--http-status", absentValue = NONE) String httpStatus,
            @Descriptor("since: a duration back (5m) or RFC 3339") @Parameter(names = "--since", absentValue = NONE) String since,
            @Descriptor("until: a duration back or RFC 3339") @Parameter(names = "--until", absentValue = NONE) String until,
            @Descriptor("the last N flows (default 20; 0: all)") @Parameter(names = "--last", absentValue = "-1") int last,
            @Descriptor("keep printing new flows until Ctrl-C") @Parameter(names = {"-f", "--follow"}, presentValue = "true", absentValue = "false") boolean follow,
            @Descriptor("every node's flows, merged by time (exactly without -f, within relayWindowMillis with -f), each"
                    + " with its node; a node that cannot be read is a line of its own (see docs/cluster.md)")
            @Parameter(names = "--cluster", presentValue = "true", absentValue = "false") boolean cluster)
            throws InterruptedException, IOException {
        String format = format(output);
        long now = System.currentTimeMillis() * 1_000_000L;
        FlowFilter filter;
        try {
            filter = FlowFilter.builder().fromEndpoint(fromEndpoint).toEndpoint(toEndpoint)
                    .fromLabel(split(fromLabel)).toLabel(split(toLabel)).fromIp(fromIp).toIp(toIp).namespace(namespace)
                    .verdict(verdict).type(type).protocol(protocol).port(port < 0 ? null : port)
                    .httpMethod(httpMethod).httpPath(httpPath).httpStatus(httpStatus)
                    .since(blank(since) ? null : FlowFilter.parseTime(since, now))
                    .until(blank(until) ? null : FlowFilter.parseTime(until, now)).build();
        } catch (IllegalArgumentException e) {
            throw new ShellException(e.getMessage());
        }
        int n = last >= 0 ? last : follow || !blank(since) ? 0 : 20;
        if (cluster) {
            // the relay takes /v1/flows's parameters, named as the options are, and passes them on to every node
            String[] names = {"from-endpoint", "to-endpoint", "from-label", "to-label", "from-ip", "to-ip", "namespace",
                    "verdict", "type", "protocol", "port", "http-method", "http-path", "http-status", "since", "until"};
            String[] values = {fromEndpoint, toEndpoint, fromLabel, toLabel, fromIp, toIp, namespace, verdict, type,
                    protocol, port < 0 ? null : Integer.toString(port), httpMethod, httpPath, httpStatus, since, until};
            Map<String, List<String>> query = new LinkedHashMap<>();
            query.put("last", List.of(Integer.toString(n)));
            for (int i = 0; i < names.length; i++) {
                if (!blank(values[i])) query.put(names[i], List.of(values[i].strip()));
            }
            cluster(format, query, follow);
            return;
        }
        FlowObserver o = need(observer, "the flow observer (bundle septum-observer)");
        if (!follow) {
            print(format, o.query(filter, n));
            return;
        }
        try (FlowSubscription sub = o.follow(filter)) {
            if (n > 0) print(format, o.query(filter, n));
            while (!Thread.currentThread().isInterrupted()) {
                Flow f = sub.poll(500, TimeUnit.MILLISECONDS);
                if (f != null) print(format, List.of(f));
            }
        }
    }

    /** {@code --cluster}: what the relay sends, printed as it comes (it has ordered the flows already). */
    void cluster(String format, Map<String, List<String>> query, boolean follow) throws IOException {
        FlowRelay r = need(relay, "the flow relay (septum-api-server's peer flow component)");
        FlowTableStream table = new FlowTableStream(true);
        try {
            r.stream(query, follow, new FlowRelay.Sink() {
                @Override
                public void flow(Flow f) {
                    if (format.equals("table")) {
                        table.lines(f).forEach(out()::println);
                    } else {
                        out().println(format.equals("json") ? jsonLine(f, "flow") : Views.flow(f, true));
                    }
                    out().flush();
                }

                @Override
                public void status(FlowNodeStatus s) {
                    out().println(format.equals("json") ? jsonLine(Map.of(FlowNodeStatus.KEY, s), "flow") : Views.nodeStatus(s));
                    out().flush();
                }

                @Override
                public void idle() {
                    // nothing to keep alive in a console
                }

                @Override
                public boolean open() {
                    return !Thread.currentThread().isInterrupted();
                }
            });
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new ShellException(e.getMessage());
        }
    }

    void print(String format, List<Flow> flows) {
        if (format.equals("table")) {
            if (!flows.isEmpty()) out().print(Views.flows(flows).render());
        } else {
            for (Flow f : flows) out().println(format.equals("json") ? jsonLine(f, "flow") : Views.flow(f));
        }
        out().flush();
    }

    static String format(String output) {
        String f = output == null ? "compact" : output.strip().toLowerCase(Locale.ROOT);
        if (!List.of("compact", "json", "table").contains(f)) {
            throw new ShellException("unknown output format \"" + output + "\" (expected compact, json or table)");
        }
        return f;
    }

    private static List<String> split(String s) {
        if (blank(s)) return List.of();
        return Arrays.stream(s.split(",")).map(String::strip).filter(x -> !x.isEmpty()).toList();
    }
}
