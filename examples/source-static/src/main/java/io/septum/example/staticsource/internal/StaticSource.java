package io.septum.example.staticsource.internal;

import io.septum.api.ComponentStatus;
import io.septum.api.EndpointSink;
import io.septum.api.EndpointSource;
import io.septum.api.EndpointSpec;
import io.septum.api.HealthReporter;
import io.septum.api.SourceHealth;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The {@code static} source. Lines of its file read {@code name interface address [key=value ...]}; {@code #}
 * starts a comment.
 */
// A DS component: SCR creates it when the bundle starts (configuration optional, so defaults suffice) and registers
// it under both interfaces. The endpoint manager finds the EndpointSource service (whiteboard) and calls open();
// the status service finds the HealthReporter. Nothing else is needed to plug into the agent.
@Component(configurationPid = StaticSource.PID, configurationPolicy = ConfigurationPolicy.OPTIONAL,
        service = {EndpointSource.class, HealthReporter.class})
@Designate(ocd = StaticSource.Config.class)
public final class StaticSource implements EndpointSource, HealthReporter {
    /** Configuration pid: etc/io.septum.example.source.static.cfg. */
    static final String PID = "io.septum.example.source.static";
    /** The label source: every label of these endpoints becomes static:KEY=VALUE. */
    static final String NAME = "static";
    private static final Logger LOG = Logger.getLogger(StaticSource.class.getName());

    @ObjectClassDefinition(name = "Septum example: static endpoint source")
    @interface Config {
        @AttributeDefinition(description = "The endpoint file; empty means <septum home>/etc/static-endpoints.txt")
        String file() default "";

        // The namespace comes from the operator's configuration, never from the workloads' own data.
        @AttributeDefinition(description = "The namespace of every endpoint of this source (a DNS label)")
        String namespace() default "default";

        @AttributeDefinition(description = "Seconds between two reads of the file")
        int pollSeconds() default 2;
    }

    private final Path file;
    private final String namespace;
    private final Duration poll;

    // open() and close() may come from different threads; the executor is the only shared state.
    private final Object lock = new Object();
    private ScheduledExecutorService executor;

    // Touched only on the executor's thread: what the file said last time, to report changes only.
    private String lastText;

    // Read by health() from any thread.
    private volatile String error;
    private volatile int count;

    // Constructor injection; no I/O and no threads here: activation must never block (STYLE.md).
    @Activate
    public StaticSource(Config config, BundleContext context) {
        String home = context.getProperty("septum.home");
        this.file = config.file().isBlank()
                ? Path.of(home == null ? "." : home, "etc", "static-endpoints.txt")
                : Path.of(config.file());
        if (!config.namespace().matches("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")) {
            // A bad configuration fails activation with the reason; SCR logs it and the source stays off.
            throw new IllegalArgumentException("config " + PID + ": namespace \"" + config.namespace()
                    + "\" is not a DNS label");
        }
        this.namespace = config.namespace();
        this.poll = Duration.ofSeconds(Math.max(1, config.pollSeconds()));
    }

    @Override
    public String name() {
        return NAME;
    }

    // Called by the endpoint manager once it sees the service. Must return at once: the work goes to our thread.
    @Override
    public void open(EndpointSink sink) {
        synchronized (lock) {
            if (executor != null) throw new IllegalStateException("source " + NAME + " is already open");
            executor = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "septum-source-static");
                t.setDaemon(true);
                return t;
            });
            executor.scheduleWithFixedDelay(() -> scan(sink), 0, poll.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    // Called by the manager when the service goes (bundle stopped, updated, removed from deploy/), and by SCR on
    // deactivation. Stop reporting; the manager keeps our endpoints disconnected for its grace period.
    @Override
    @Deactivate
    public void close() {
        ScheduledExecutorService ex;
        synchronized (lock) {
            ex = executor;
            executor = null;
        }
        if (ex != null) ex.shutdownNow();
    }

    // One line in `septum status`.
    @Override
    public ComponentStatus health() {
        String e = error;
        return e == null ? ComponentStatus.ok("source-static", count + " endpoints from " + file)
                : new ComponentStatus("source-static", "degraded", e + "; the last good " + count + " endpoints kept");
    }

    private void scan(EndpointSink sink) {
        try {
            String text;
            try {
                text = Files.readString(file);
            } catch (NoSuchFileException e) {
                text = "";
            }
            if (text.equals(lastText)) return;
            // Parse everything before reporting anything: a bad file changes nothing.
            List<EndpointSpec> specs = parse(file.toString(), text, namespace);
            List<String> live = new ArrayList<>();
            for (EndpointSpec s : specs) {
                sink.upsert(s);                 // idempotent: the whole spec, every time
                live.add(s.sourceId());
            }
            sink.resync(live);                  // every endpoint of ours not listed is gone
            lastText = text;
            count = specs.size();
            error = null;
            sink.health(new SourceHealth(NAME, true, System.currentTimeMillis(), null));
        } catch (IOException | IllegalArgumentException e) {
            error = e.getMessage();
            LOG.log(Level.WARNING, "source static: " + e.getMessage());
            sink.health(new SourceHealth(NAME, false, 0, e.getMessage()));
        } catch (RuntimeException e) {
            // Never let the scheduled task die silently: it would never run again.
            error = "unexpected: " + e;
            LOG.log(Level.WARNING, "source static: scan failed", e);
        }
    }

    /**
     * The endpoints of a file, or an exception naming the file, the line and the reason. Labels are given without
     * a source prefix: the manager adds {@code static:} and refuses keys of other sources, {@code reserved:} and
     * the namespace label.
     */
    static List<EndpointSpec> parse(String origin, String text, String namespace) {
        List<EndpointSpec> out = new ArrayList<>();
        Set<String> names = new LinkedHashSet<>();
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].replaceFirst("#.*", "").strip();
            if (line.isEmpty()) continue;
            String where = origin + ":" + (i + 1) + ": ";
            String[] f = line.split("\\s+");
            if (f.length < 3) {
                throw new IllegalArgumentException(where + "expected \"name interface address [key=value ...]\", got \""
                        + line + "\"");
            }
            if (!f[0].matches("[A-Za-z0-9][A-Za-z0-9._-]{0,62}")) {
                throw new IllegalArgumentException(where + "name \"" + f[0] + "\" is not [A-Za-z0-9._-], at most 63");
            }
            if (!names.add(f[0])) throw new IllegalArgumentException(where + "endpoint " + f[0] + " is listed twice");
            if (!f[1].matches("[A-Za-z0-9._@-]{1,15}")) {
                throw new IllegalArgumentException(where + "interface \"" + f[1] + "\" is not an interface name");
            }
            if (!f[2].matches("[0-9.]+|[0-9A-Fa-f:]+")) {
                throw new IllegalArgumentException(where + "address \"" + f[2] + "\" is not an IP address");
            }
            Map<String, String> labels = new LinkedHashMap<>();
            for (int j = 3; j < f.length; j++) {
                int eq = f[j].indexOf('=');
                String key = eq < 0 ? f[j] : f[j].substring(0, eq);
                if (key.isEmpty()) throw new IllegalArgumentException(where + "label \"" + f[j] + "\" has no key");
                labels.put(key, eq < 0 ? "" : f[j].substring(eq + 1));
            }
            // sourceId: our own stable key (the name). netns null: the addresses are given, nothing to discover.
            out.add(new EndpointSpec(f[0], f[0], namespace, labels, f[1], null, List.of(f[2]), null,
                    Map.of("static-file", origin)));
        }
        return out;
    }
}
