package io.septum.itests.osgi;

import static org.junit.Assert.fail;
import static org.ops4j.pax.exam.CoreOptions.composite;
import static org.ops4j.pax.exam.CoreOptions.frameworkProperty;
import static org.ops4j.pax.exam.CoreOptions.junitBundles;
import static org.ops4j.pax.exam.CoreOptions.mavenBundle;
import static org.ops4j.pax.exam.CoreOptions.systemPackage;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;
import static org.ops4j.pax.exam.CoreOptions.systemTimeout;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import javax.inject.Inject;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;

/**
 * The container every integration test boots: Felix with the distribution's bundles (versions from the build),
 * and fresh home, state, run and BPF pin directories that are removed when the test JVM exits.
 */
public abstract class SeptumTestSupport {
    /** Every bundle of distribution/target/septum/bundle, by Maven coordinates (keep in step with distribution/pom.xml). */
    static final List<String[]> SYSTEM_BUNDLES = List.of(
            new String[] {"org.osgi", "org.osgi.util.function"},
            new String[] {"org.osgi", "org.osgi.util.promise"},
            new String[] {"org.osgi", "org.osgi.service.component"},
            new String[] {"org.apache.felix", "org.apache.felix.scr"},
            new String[] {"org.apache.felix", "org.apache.felix.configadmin"},
            new String[] {"org.apache.felix", "org.apache.felix.fileinstall"},
            new String[] {"org.jline", "jline"},
            new String[] {"org.apache.felix", "org.apache.felix.gogo.runtime"},
            new String[] {"org.apache.felix", "org.apache.felix.gogo.command"},
            new String[] {"org.apache.felix", "org.apache.felix.gogo.jline"},
            new String[] {"org.yaml", "snakeyaml"},
            new String[] {"com.fasterxml.jackson.core", "jackson-annotations"},
            new String[] {"com.fasterxml.jackson.core", "jackson-core"},
            new String[] {"com.fasterxml.jackson.core", "jackson-databind"},
            new String[] {"com.fasterxml.jackson.dataformat", "jackson-dataformat-yaml"});

    /**
     * Netty's bundles, at the build's {@code netty.version} (a system property from the pom): the test classpath may
     * hold another Netty (the Kubernetes mock server's), so versionAsInProject() could name the wrong one.
     */
    static final List<String> NETTY_BUNDLES = List.of("netty-common", "netty-buffer", "netty-resolver",
            "netty-transport", "netty-codec", "netty-handler", "netty-codec-http", "netty-transport-native-unix-common",
            "netty-transport-classes-epoll");

    /** The Septum bundles; their symbolic names are their artifact ids. */
    static final List<String> SEPTUM_BUNDLES = List.of("septum-api", "septum-identity", "septum-policy",
            "septum-endpoints", "septum-datapath-ebpf", "septum-observer", "septum-services", "septum-proxy-http", "septum-metrics",
            "septum-status", "septum-api-server", "septum-shell", "septum-source-netns", "septum-web-ui", "septum-kvstore-etcd");

    static final long TIMEOUT_MILLIS = 60_000;

    @Inject
    protected BundleContext bundleContext;

    @Configuration
    public Option[] configuration() throws IOException {
        Path home = Files.createTempDirectory("sept-itest-home-");
        Path etc = Files.createDirectories(home.resolve("etc"));
        Files.createDirectories(home.resolve("deploy"));
        copyTree(Path.of(System.getProperty("septum.itest.etc", "../config/etc")), etc);
        copyTree(Path.of(System.getProperty("septum.itest.dist.etc", "../distribution/src/main/dist/etc")), etc);
        Path state = Files.createTempDirectory("sept-itest-state-");
        Path run = Files.createTempDirectory("sept-itest-run-");
        Path bpf = Path.of("/sys/fs/bpf/sept-itest-" + UUID.randomUUID().toString().substring(0, 8));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (Path p : List.of(home, state, run, bpf)) deleteTree(p);
        }, "sept-itest-cleanup"));

        String netty = System.getProperty("septum.itest.netty.version", "4.1.118.Final");
        Option[] bundles = Stream.of(
                SYSTEM_BUNDLES.stream().map(c -> mavenBundle(c[0], c[1]).versionAsInProject()),
                NETTY_BUNDLES.stream().map(a -> mavenBundle("io.netty", a, netty)),
                // the native epoll library: a fragment of netty-transport-classes-epoll, never started
                Stream.of(mavenBundle().groupId("io.netty").artifactId("netty-transport-native-epoll")
                        .classifier("linux-x86_64").version(netty).noStart()),
                SEPTUM_BUNDLES.stream().map(a -> mavenBundle("io.septum", a).versionAsInProject()))
                .flatMap(s -> s)
                .toArray(Option[]::new);
        return new Option[] {
            junitBundles(),
            systemTimeout(TIMEOUT_MILLIS),
            // What the launcher sets (io.septum.runtime.Launcher#frameworkProperties), pointed at the temp dirs.
            locations("septum.home", home),
            locations("septum.etc.dir", etc),
            locations("septum.state.dir", state),
            locations("septum.run.dir", run),
            locations("septum.bpf.dir", bpf),
            // Added to Pax Exam's own system packages, which a framework property would replace.
            systemPackage("sun.misc"),
            frameworkProperty("felix.fileinstall.dir").value(home.resolve("deploy") + "," + etc),
            frameworkProperty("felix.fileinstall.filter").value(".*\\.(jar|cfg|config)"),
            frameworkProperty("felix.fileinstall.subdir.mode").value("skip"),
            frameworkProperty("felix.fileinstall.poll").value("1000"),
            frameworkProperty("felix.fileinstall.enableConfigSave").value("false"),
            frameworkProperty("felix.fileinstall.noInitialDelay").value("true"),
            frameworkProperty("felix.fileinstall.log.default").value("jul"),
            frameworkProperty("gosh.args").value("--nointeractive"),
            frameworkProperty("gosh.home").value(home.toString()),
            frameworkProperty("ds.loglevel").value("warn"),
            // A dumb terminal for Gogo: no tty under Maven, and a system terminal would take over SIGINT.
            systemProperty("org.jline.terminal.dumb").value("true"),
            systemProperty("org.jline.terminal.exec").value("false"),
            composite(bundles),
        };
    }

    /** As framework properties (what the launcher sets) and system properties (what the brief of the tests names). */
    private static Option locations(String key, Path value) {
        return composite(frameworkProperty(key).value(value.toString()), systemProperty(key).value(value.toString()));
    }

    /** Polls until {@code condition} holds or the timeout passes; {@code what} names it in the failure. */
    protected static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT_MILLIS * 1_000_000;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) fail("timed out after " + TIMEOUT_MILLIS + " ms waiting for " + what);
            Thread.sleep(50);
        }
    }

    /** The installed bundle whose symbolic name is {@code symbolicName}, if there is one. */
    protected Optional<Bundle> bundle(String symbolicName) {
        return Arrays.stream(bundleContext.getBundles()).filter(b -> symbolicName.equals(b.getSymbolicName())).findFirst();
    }

    /**
     * Where the cgroup v2 hierarchy is mounted ({@code /sys/fs/cgroup} when it is there among others), or null when it
     * is not; the end-to-end cgroup test asks too.
     */
    public static Path cgroup2Mount() throws IOException {
        Path found = null;
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] f = line.split(" ");
            int dash = List.of(f).indexOf("-");
            if (dash > 0 && dash + 1 < f.length && f[dash + 1].equals("cgroup2")) {
                Path p = Path.of(f[4]);
                if (found == null || p.equals(Path.of("/sys/fs/cgroup"))) found = p;
            }
        }
        return found;
    }

    private static void copyTree(Path from, Path to) throws IOException {
        if (!Files.isDirectory(from)) return;
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(target);
                else Files.copy(p, target);
            }
        }
    }

    private static void deleteTree(Path root) {
        if (!Files.exists(root)) return;
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException | UncheckedIOException e) {
            System.err.println("sept-itest: cannot remove " + root + ": " + e.getMessage());
        }
    }
}
