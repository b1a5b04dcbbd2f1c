package io.septum.shell.internal;

import io.septum.api.datapath.DatapathEvent;
import io.septum.api.datapath.DatapathEventListener;
import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowSink;
import io.septum.view.Views;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;

/**
 * {@code monitor} (scope {@code septum}): streams datapath events, and the flows the proxies hand to
 * {@link FlowSink}s (the HTTP requests and responses of the L7 proxy, the DNS proxy's queries and answers), until
 * interrupted (Ctrl-C), as {@code septum monitor} does. A listener and a sink are registered only while a monitor
 * runs, with one bounded queue of its own, so neither the datapath nor a proxy ever waits for the console.
 */
@Component(service = MonitorCommand.class)
@GogoCommand(scope = "septum", function = "monitor")
public final class MonitorCommand extends ShellSupport {
    private final BundleContext ctx;

    @Activate
    public MonitorCommand(BundleContext ctx) {
        this.ctx = ctx;
    }

    @Descriptor("Stream datapath verdict and drop events, and the L7 and DNS proxies' requests and responses, as they"
            + " happen, one per line, until interrupted (Ctrl-C)")
    public void monitor(
            @Descriptor(OUTPUT_DESCRIPTION + " (json: one event per line)")
            @Parameter(names = {"-o", "--output"}, absentValue = "table") String output,
            @Descriptor("only events of this type: drop, policy-verdict or l7 (the L7 and DNS proxies' requests and responses)")
            @Parameter(names = {"--type"}, absentValue = "") String type,
            @Descriptor("stop after this many events (0: never)")
            @Parameter(names = {"--count"}, absentValue = "0") int count) throws InterruptedException {
        boolean json = json(output);
        BlockingQueue<Object> queue = new ArrayBlockingQueue<>(4096);
        LongAdder lost = new LongAdder();
        DatapathEventListener listener = e -> {
            if (!queue.offer(e)) lost.increment();
        };
        FlowSink sink = f -> {
            if (!queue.offer(f)) lost.increment();
        };
        ServiceRegistration<DatapathEventListener> reg = ctx.registerService(DatapathEventListener.class, listener, null);
        try {
            ServiceRegistration<FlowSink> flows = ctx.registerService(FlowSink.class, sink, null);
            try {
                stream(queue, lost, json, type, count);
            } finally {
                unregister(flows);
            }
        } finally {
            unregister(reg);
        }
    }

    /** Withdraws a registration, which is gone already when the shell's bundle stopped while the monitor ran. */
    private static void unregister(ServiceRegistration<?> r) {
        try {
            r.unregister();
        } catch (IllegalStateException e) {
            // unregistered with the bundle
        }
    }

    /** Prints what {@code queue} gets: {@link DatapathEvent}s and {@link Flow}s, each selected by its own type. */
    void stream(BlockingQueue<?> queue, LongAdder lost, boolean json, String type, int count)
            throws InterruptedException {
        int seen = 0;
        long reported = 0;
        while (!Thread.currentThread().isInterrupted() && (count <= 0 || seen < count)) {
            Object item = queue.poll(500, TimeUnit.MILLISECONDS);
            long l = lost.sum();
            if (l > reported && !json) {
                out().println("(" + (l - reported) + " events lost: the console did not keep up)");
                reported = l;
            }
            String line;
            if (item instanceof DatapathEvent e) {
                if (!blank(type) && !type.equalsIgnoreCase(e.type())) continue;
                line = json ? jsonLine(e, "event") : Views.event(e);
            } else if (item instanceof Flow f) {
                if (!blank(type) && !type.equalsIgnoreCase(f.eventType())) continue;
                line = json ? jsonLine(f, "flow") : Views.flow(f);
            } else {
                continue;
            }
            out().println(line);
            out().flush();
            seen++;
        }
    }
}
