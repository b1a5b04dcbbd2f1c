package io.septum.shell.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.septum.api.datapath.DatapathEvent;
import io.septum.api.datapath.DatapathEventListener;
import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowEndpoint;
import io.septum.api.flow.FlowHttp;
import io.septum.api.flow.FlowIp;
import io.septum.api.flow.FlowL4;
import io.septum.api.flow.FlowL7;
import io.septum.api.flow.FlowSink;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import org.apache.felix.framework.FrameworkFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.launch.Framework;

/** The console's {@code monitor}: datapath events and the L7 proxy's flows, as {@code septum monitor} shows them. */
class MonitorCommandTest {
    private static final DatapathEvent DROP = new DatapathEvent(0, "drop", 7, "INGRESS", "DROPPED", 133, "10.199.0.8",
            4000, 308, "10.199.0.7", 80, 307, "TCP", 0, 2, false, 100);
    private static final Flow REQUEST = new Flow(null, 5, Flow.DROPPED, 0, null,
            new FlowIp("10.199.0.8", "10.199.0.7", "IPv4"), new FlowL4("TCP", 4000, 80, List.of()),
            new FlowEndpoint(8, 308, "default", "xwing", List.of()), new FlowEndpoint(7, 307, "default", "deathstar", List.of()),
            "L7", Flow.TYPE_L7, "INGRESS", Flow.TO_PROXY, Flow.MATCH_L7, 7, 0, null, "no HTTP rule matches", false,
            new FlowL7("REQUEST", 0, new FlowHttp(0, "PUT", "http://deathstar/v1/exhaust-port", "HTTP/1.1")));

    @TempDir
    Path tmp;
    private final ByteArrayOutputStream buf = new ByteArrayOutputStream();

    private MonitorCommand command(BundleContext ctx) {
        MonitorCommand m = new MonitorCommand(ctx);
        PrintStream ps = new PrintStream(buf, true, StandardCharsets.UTF_8);
        m.out = () -> ps;
        return m;
    }

    @Test
    void theProxysFlowsAreShownAsHubbleShowsThemAndSelectedByTypeL7() throws Exception {
        MonitorCommand m = command(null);
        BlockingQueue<Object> q = new ArrayBlockingQueue<>(4);
        q.add(DROP);
        q.add(REQUEST);
        m.stream(q, new LongAdder(), false, "l7", 1);
        String s = buf.toString(StandardCharsets.UTF_8);
        assertEquals(1, s.lines().count(), s);
        assertTrue(s.contains("default/xwing:4000 (ID:308) -> default/deathstar:80 (ID:307) http-request DROPPED "
                + "(HTTP/1.1 PUT http://deathstar/v1/exhaust-port)"), s);

        buf.reset();
        q.add(REQUEST);
        m.stream(q, new LongAdder(), true, "", 1);
        JsonNode line = new ObjectMapper().readTree(buf.toString(StandardCharsets.UTF_8));
        assertEquals("l7", line.get("event_type").asText(), "the flow's own JSON, as /v1/monitor streams it");
        assertEquals("PUT", line.at("/l7/http/method").asText());
    }

    /** Ctrl-C, the usual end: the interrupted monitor returns and takes its listener and sink with it. */
    @Test
    void anInterruptEndsItAndWithdrawsBoth() throws Exception {
        Framework fw = framework();
        try {
            BundleContext ctx = fw.getBundleContext();
            AtomicReference<Throwable> ended = new AtomicReference<>();
            Thread t = running(command(ctx), ended, 0);
            awaitRegistered(ctx);
            t.interrupt();
            t.join(10_000);
            assertFalse(t.isAlive(), "the monitor ends when interrupted");
            assertTrue(ended.get() instanceof InterruptedException, "ended by " + ended.get());
            assertNull(ctx.getServiceReference(FlowSink.class), "the sink is gone with the monitor");
            assertNull(ctx.getServiceReference(DatapathEventListener.class), "the listener is gone with the monitor");
        } finally {
            stop(fw);
        }
    }

    /** {@code monitor} with {@code --count count} on a daemon thread; what ended it (null: its count) in {@code ended}. */
    private static Thread running(MonitorCommand m, AtomicReference<Throwable> ended, int count) {
        Thread t = new Thread(() -> {
            try {
                m.monitor("table", "", count);
            } catch (Throwable e) {
                ended.set(e);
            }
        }, "monitor-test");
        t.setDaemon(true); // a monitor that never ended (the test failed) does not hold the JVM
        t.start();
        return t;
    }

    /** An empty framework whose system bundle's context stands for the shell's. */
    private Framework framework() throws Exception {
        Framework fw = new FrameworkFactory().newFramework(Map.of(Constants.FRAMEWORK_STORAGE, tmp.toString(),
                Constants.FRAMEWORK_STORAGE_CLEAN, Constants.FRAMEWORK_STORAGE_CLEAN_ONFIRSTINIT));
        fw.start();
        return fw;
    }

    private static void stop(Framework fw) throws Exception {
        fw.stop();
        fw.waitForStop(10_000);
    }

    private static void awaitRegistered(BundleContext ctx) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while ((ctx.getServiceReference(FlowSink.class) == null || ctx.getServiceReference(DatapathEventListener.class) == null)
                && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
    }

    /** In a framework: the listener and the sink are there while the monitor runs, and gone after it. */
    @Test
    void itListensToTheDatapathAndTheProxiesWhileItRuns() throws Exception {
        Framework fw = framework();
        try {
            BundleContext ctx = fw.getBundleContext();
            AtomicReference<Throwable> failed = new AtomicReference<>();
            Thread t = running(command(ctx), failed, 2);
            awaitRegistered(ctx);
            ServiceReference<FlowSink> sink = ctx.getServiceReference(FlowSink.class);
            ServiceReference<DatapathEventListener> listener = ctx.getServiceReference(DatapathEventListener.class);
            assertTrue(sink != null && listener != null, "the monitor registered its sink and listener");
            ctx.getService(listener).onEvent(DROP);
            ctx.getService(sink).accept(REQUEST);
            t.join(10_000);
            assertFalse(t.isAlive(), "the monitor ends after --count 2");
            assertNull(failed.get());
            String s = buf.toString(StandardCharsets.UTF_8);
            assertTrue(s.contains("drop INGRESS DROPPED (Policy denied)"), s);
            assertTrue(s.contains("http-request DROPPED"), s);
            assertNull(ctx.getServiceReference(FlowSink.class), "the sink is gone with the monitor");
            assertNull(ctx.getServiceReference(DatapathEventListener.class), "the listener is gone with the monitor");
        } finally {
            stop(fw);
        }
    }
}
