package io.septum.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.septum.api.datapath.DatapathEvent;
import io.septum.api.flow.Flow;
import io.septum.view.Views;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "monitor", mixinStandardHelpOptions = true,
        description = "Stream datapath verdict and drop events, and the L7 proxy's HTTP requests and responses, as they happen, one per line (Ctrl-C stops).")
final class MonitorCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--type", paramLabel = "TYPE", description = "Only events of this type: drop, policy-verdict or l7 (the L7 proxy's requests and responses).")
    String type;

    @Option(names = "--endpoint", paramLabel = "ID", description = "Only events seen by this endpoint id.")
    Long endpoint;

    @Option(names = "--verdict", paramLabel = "VERDICT", description = "Only events with this verdict: FORWARDED, DROPPED, AUDIT.")
    String verdict;

    @Option(names = "--count", paramLabel = "N", defaultValue = "0",
            description = "Stop after N events (default: run until interrupted).")
    int count;

    /** Thrown from the line consumer to end the stream after {@code --count} events. */
    private static final class Enough extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Enough() {
            super(null, null, false, false);
        }
    }

    @Override
    public Integer call() {
        SeptumCli cli = SeptumCli.of(spec);
        boolean json = cli.format() == Output.Format.JSON;
        PrintWriter out = cli.out();
        int[] seen = {0};
        try {
            stream(cli, json, out, seen);
        } catch (Enough e) {
            return 0;
        }
        if (Thread.currentThread().isInterrupted()) return 0;
        // the stream should last until the user stops it: its end means the agent went away
        cli.err().println("septum: the agent ended the event stream (did it stop? see 'septum status')");
        return 1;
    }

    private void stream(SeptumCli cli, boolean json, PrintWriter out, int[] seen) {
        cli.client().stream("/v1/monitor", line -> {
            if (line.contains("\"event_type\":\"l7\"")) { // the L7 proxy's requests and responses
                Flow f;
                try {
                    f = cli.client().mapper().readValue(line, Flow.class);
                } catch (JsonProcessingException x) {
                    cli.err().println("septum: skipping an L7 event the agent sent that cannot be read: " + x.getOriginalMessage());
                    return;
                }
                if (type != null && !type.equalsIgnoreCase(Flow.TYPE_L7)) return;
                if (endpoint != null && endpoint != f.endpointId()) return;
                if (verdict != null && !verdict.equalsIgnoreCase(f.verdict())) return;
                out.println(json ? line : Views.flow(f));
                out.flush();
                if (count > 0 && ++seen[0] >= count) throw new Enough();
                return;
            }
            DatapathEvent e;
            try {
                e = cli.client().mapper().readValue(line, DatapathEvent.class);
            } catch (JsonProcessingException x) {
                cli.err().println("septum: skipping an event the agent sent that is not a datapath event: " + x.getOriginalMessage());
                return;
            }
            if (type != null && !type.equalsIgnoreCase(e.type())) return;
            if (endpoint != null && endpoint != e.endpointId()) return;
            if (verdict != null && !verdict.equalsIgnoreCase(e.verdict())) return;
            out.println(json ? line : Views.event(e));
            out.flush();
            if (count > 0 && ++seen[0] >= count) throw new Enough();
        });
    }
}
