package io.septum.shell.internal;

import io.septum.api.datapath.DatapathEvent;
import io.septum.api.datapath.DatapathEventListener;
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
 * {@code monitor} (scope {@code septum}): streams datapath events until interrupted (Ctrl-C). A listener is
 * registered only while a monitor runs, with its own bounded queue, so the datapath never waits for the console.
 */
@Component(service = MonitorCommand.class)
@GogoCommand(scope = "septum", function = "monitor")
public final class MonitorCommand extends ShellSupport {
    private final BundleContext ctx;

    @Activate
    public MonitorCommand(BundleContext ctx) {
        this.ctx = ctx;
    }

    @Descriptor("Stream datapath verdict and drop events as they happen, one per line, until interrupted (Ctrl-C)")
    public void monitor(
            @Descriptor(OUTPUT_DESCRIPTION + " (json: one event per line)")
            @Parameter(names = {"-o", "--output"}, absentValue = "table") String output,
            @Descriptor("only events of this type: drop or policy-verdict")
            @Parameter(names = {"--type"}, absentValue = "") String type,
            @Descriptor("stop after this many events (0: never)")
            @Parameter(names = {"--count"}, absentValue = "0") int count) throws InterruptedException {
        boolean json = json(output);
        BlockingQueue<DatapathEvent> queue = new ArrayBlockingQueue<>(4096);
        LongAdder lost = new LongAdder();
        DatapathEventListener listener = e -> {
            if (!queue.offer(e)) lost.increment();
        };
        ServiceRegistration<DatapathEventListener> reg = ctx.registerService(DatapathEventListener.class, listener, null);
        try {
            stream(queue, lost, json, type, count);
        } finally {
            reg.unregister();
        }
    }

    void stream(BlockingQueue<DatapathEvent> queue, LongAdder lost, boolean json, String type, int count)
            throws InterruptedException {
        int seen = 0;
        long reported = 0;
        while (!Thread.currentThread().isInterrupted() && (count <= 0 || seen < count)) {
            DatapathEvent e = queue.poll(500, TimeUnit.MILLISECONDS);
            long l = lost.sum();
            if (l > reported && !json) {
                out().println("(" + (l - reported) + " events lost: the console did not keep up)");
                reported = l;
            }
            if (e == null) continue;
            if (!blank(type) && !type.equalsIgnoreCase(e.type())) continue;
            out().println(json ? jsonLine(e, "event") : Views.event(e));
            out().flush();
            seen++;
        }
    }
}
