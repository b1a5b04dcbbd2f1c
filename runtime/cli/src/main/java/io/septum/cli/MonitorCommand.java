package io.septum.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.septum.api.datapath.DatapathEvent;
import io.septum.api.flow.Flow;
import io.septum.view.Views;
import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "monitor", mixinStandardHelpOptions = true,
        description = "Stream datapath verdict and drop events, and the L7 proxy's HTTP requests and responses, as they happen, one per line (Ctrl-C stops).")
final class MonitorCommand extends AgentCommand {
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
        SeptumCli cli = cli();
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
                Flow f = read(cli, line, Flow.class, "an L7 event the agent sent that cannot be read");
                if (f != null && wanted(Flow.TYPE_L7, f.endpointId(), f.verdict())) emit(out, json ? line : Views.flow(f), seen);
                return;
            }
            DatapathEvent e = read(cli, line, DatapathEvent.class, "an event the agent sent that is not a datapath event");
            if (e != null && wanted(e.type(), e.endpointId(), e.verdict())) emit(out, json ? line : Views.event(e), seen);
        });
    }

    /** The line as {@code type}, or null (said on stderr, naming {@code what}) when it is not one. */
    private static <T> T read(SeptumCli cli, String line, Class<T> type, String what) {
        try {
            return cli.client().mapper().readValue(line, type);
        } catch (JsonProcessingException x) {
            cli.err().println("septum: skipping " + what + ": " + x.getOriginalMessage());
            return null;
        }
    }

    /** Whether an event passes {@code --type}, {@code --endpoint} and {@code --verdict}. */
    private boolean wanted(String eventType, long endpointId, String eventVerdict) {
        return (type == null || type.equalsIgnoreCase(eventType))
                && (endpoint == null || endpoint == endpointId)
                && (verdict == null || verdict.equalsIgnoreCase(eventVerdict));
    }

    /** Prints one event; ends the stream once {@code --count} events are out. */
    private void emit(PrintWriter out, String text, int[] seen) {
        out.println(text);
        out.flush();
        if (count > 0 && ++seen[0] >= count) throw new Enough();
    }
}
