package io.septum.kvstore.etcd.internal;

import io.septum.testsupport.TestFiles;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A private etcd for one test class: loopback ports picked free, its own data directory, killed on close (JUnit's
 * {@code @AfterAll}, and a shutdown hook should the JVM die first). Skips with a printed reason when the etcd
 * binary is absent, unless septum.e2e.required=true, which makes that a failure.
 */
public final class TestEtcd implements AutoCloseable {
    public final URI endpoint;
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

    public static TestEtcd start() throws Exception {
        return start(null);
    }

    /**
     * With {@code tls} (a directory holding ca.pem, server.pem, server-key.pem): https only, client certificates
     * required (etcd's --client-cert-auth), as a production etcd is run.
     */
    static TestEtcd start(Path tls) throws Exception {
        Path bin = binary();
        if (bin == null) {
            String reason = "etcd is not installed (scripts/install-deps.sh installs Debian's etcd-server)";
            if (Boolean.getBoolean("septum.e2e.required")) Assertions.fail(reason + " and septum.e2e.required=true");
            System.out.println("SKIPPED kvstore-etcd tests: " + reason);
            Assumptions.abort(reason);
        }
        Path dir = Files.createTempDirectory("septum-test-etcd");
        int[] ports = io.septum.testsupport.TestPorts.free(2);
        int client = ports[0];
        int peer = ports[1];
        String c = (tls == null ? "http" : "https") + "://127.0.0.1:" + client;
        String p = "http://127.0.0.1:" + peer;
        ProcessBuilder pb = new ProcessBuilder(bin.toString(), "--name", "test", "--data-dir", dir.resolve("data").toString(),
                "--listen-client-urls", c, "--advertise-client-urls", c,
                "--listen-peer-urls", p, "--initial-advertise-peer-urls", p, "--initial-cluster", "test=" + p,
                "--log-outputs", "stderr");
        if (tls != null) {
            pb.command().addAll(java.util.List.of("--cert-file", tls.resolve("server.pem").toString(),
                    "--key-file", tls.resolve("server-key.pem").toString(),
                    "--trusted-ca-file", tls.resolve("ca.pem").toString(), "--client-cert-auth"));
        }
        pb.redirectErrorStream(true).redirectOutput(dir.resolve("etcd.log").toFile());
        Process proc = pb.start();
        TestEtcd etcd = new TestEtcd(URI.create(c), proc, dir);
        EtcdClient probe = tls == null ? new EtcdClient(EtcdClient.Options.insecure(etcd.endpoint))
                : new EtcdClient(new EtcdClient.Options(java.util.List.of(etcd.endpoint), Tls.context(tls.resolve("ca.pem"),
                        tls.resolve("client.pem"), tls.resolve("client-key.pem")), false, null));
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

    /**
     * A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl into {@code dir}. The server
     * certificate needs clientAuth too: etcd 3.4's JSON gateway dials etcd's own gRPC port with it, and with
     * --client-cert-auth that connection is refused ("incompatible key usage") otherwise.
     */
    static void makeCertificates(Path dir) throws Exception {
        String d = dir.toString();
        sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
                "-subj", "/CN=septum-test-ca", "-keyout", d + "/ca-key.pem", "-out", d + "/ca.pem");
        for (String who : new String[] {"server", "client"}) {
            sh("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-subj", "/CN=septum-test-" + who, "-keyout", d + "/" + who + "-key.pem", "-out", d + "/" + who + ".csr");
            Files.writeString(dir.resolve(who + ".ext"), who.equals("server")
                    ? "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n" : "extendedKeyUsage=clientAuth\n");
            sh("openssl", "x509", "-req", "-in", d + "/" + who + ".csr", "-CA", d + "/ca.pem", "-CAkey", d + "/ca-key.pem",
                    "-CAcreateserial", "-days", "1", "-extfile", d + "/" + who + ".ext", "-out", d + "/" + who + ".pem");
        }
    }

    private static void sh(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) throw new IOException(String.join(" ", cmd) + " failed: " + out);
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
        TestFiles.deleteTree(dir);
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

    /**
     * One {@link TestEtcd} for a whole test class, as a JUnit extension:
     * {@code @RegisterExtension static final TestEtcd.PerClass etcd = new TestEtcd.PerClass();} starts it before the
     * class's {@code @BeforeAll} methods (or skips the class, as {@link #start()} does) and kills it after its last
     * test.
     */
    public static final class PerClass implements BeforeAllCallback, AfterAllCallback, AfterEachCallback {
        private final String emptiedAfterEach;
        private TestEtcd etcd;

        public PerClass() {
            this(null);
        }

        private PerClass(String emptiedAfterEach) {
            this.emptiedAfterEach = emptiedAfterEach;
        }

        /**
         * Deletes the keys under {@code prefix} after each test, once the test's own {@code @AfterEach} methods (which
         * close its nodes) have run, so that the next test starts on an empty cluster.
         */
        public static PerClass emptiedAfterEach(String prefix) {
            return new PerClass(prefix);
        }

        @Override
        public void beforeAll(ExtensionContext context) throws Exception {
            etcd = start();
        }

        @Override
        public void afterEach(ExtensionContext context) throws Exception {
            if (emptiedAfterEach == null || etcd == null) return;
            try (EtcdClient c = etcd.client()) {
                c.deletePrefix(emptiedAfterEach);
            }
        }

        @Override
        public void afterAll(ExtensionContext context) {
            if (etcd != null) etcd.close();
            etcd = null;
        }

        public URI endpoint() {
            return etcd.endpoint;
        }

        /** A new client of this etcd, without TLS or credentials; the caller closes it. */
        public EtcdClient client() {
            return etcd.client();
        }
    }
}
