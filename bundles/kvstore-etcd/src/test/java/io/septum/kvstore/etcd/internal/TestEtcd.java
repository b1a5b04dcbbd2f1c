package io.septum.kvstore.etcd.internal;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A private etcd for one test class: loopback ports picked free, its own data directory, killed on close (JUnit's
 * {@code @AfterAll}, and a shutdown hook should the JVM die first). Skips with a printed reason when the etcd
 * binary is absent, unless septum.e2e.required=true, which makes that a failure.
 */
final class TestEtcd implements AutoCloseable {
    final URI endpoint;
    private final Process process;
    private final Path dir;
    private final Thread hook;

    private TestEtcd(URI endpoint, Process process, Path dir) {
        this.endpoint = endpoint;
        this.process = process;
        this.dir = dir;
        this.hook = new Thread(this::kill);
        Runtime.getRuntime().addShutdownHook(hook);
    }

    static Path binary() {
        for (String p : new String[] {"/usr/bin/etcd", "/usr/local/bin/etcd"}) {
            if (Files.isExecutable(Path.of(p))) return Path.of(p);
        }
        return null;
    }

    static TestEtcd start() throws Exception {
        Path bin = binary();
        if (bin == null) {
            String reason = "etcd is not installed (scripts/install-deps.sh installs Debian's etcd-server)";
            if (Boolean.getBoolean("septum.e2e.required")) Assertions.fail(reason + " and septum.e2e.required=true");
            System.out.println("SKIPPED kvstore-etcd tests: " + reason);
            Assumptions.abort(reason);
        }
        Path dir = Files.createTempDirectory("septum-test-etcd");
        int client = freePort();
        int peer = freePort();
        String c = "http://127.0.0.1:" + client;
        String p = "http://127.0.0.1:" + peer;
        ProcessBuilder pb = new ProcessBuilder(bin.toString(), "--name", "test", "--data-dir", dir.resolve("data").toString(),
                "--listen-client-urls", c, "--advertise-client-urls", c,
                "--listen-peer-urls", p, "--initial-advertise-peer-urls", p, "--initial-cluster", "test=" + p,
                "--log-outputs", "stderr")
                .redirectErrorStream(true).redirectOutput(dir.resolve("etcd.log").toFile());
        Process proc = pb.start();
        TestEtcd etcd = new TestEtcd(URI.create(c), proc, dir);
        EtcdClient probe = new EtcdClient(EtcdClient.Options.insecure(etcd.endpoint));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true) {
            try {
                probe.get("probe");
                return etcd;
            } catch (IOException e) {
                if (!proc.isAlive() || System.nanoTime() > deadline) {
                    String log = Files.readString(dir.resolve("etcd.log"));
                    etcd.close();
                    throw new IOException("test etcd did not start on " + c + ": " + log, e);
                }
                Thread.sleep(100);
            }
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    EtcdClient client() {
        return new EtcdClient(EtcdClient.Options.insecure(endpoint));
    }

    private void kill() {
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException ignored) {
            // temp dir cleanup is best effort
        }
    }

    @Override
    public void close() {
        kill();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // the hook runs anyway
        }
    }
}
