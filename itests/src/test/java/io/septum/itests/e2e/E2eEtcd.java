package io.septum.itests.e2e;

import io.septum.testsupport.TestFiles;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * An etcd of a test's own (Debian's {@code etcd-server}), on loopback ports it picked, with a data directory it
 * removes on close: {@link #kill()} and {@link #start()} again keep the data and the ports, as an etcd restart would.
 */
final class E2eEtcd implements AutoCloseable {
    private final Path dir;
    private final int clientPort;
    private final int peerPort;
    private Process process;

    private E2eEtcd(Path dir, int clientPort, int peerPort) {
        this.dir = dir;
        this.clientPort = clientPort;
        this.peerPort = peerPort;
    }

    /** A new etcd, started and answering on its client port. */
    static E2eEtcd started() throws IOException {
        int[] ports = io.septum.testsupport.TestPorts.free(2);
        E2eEtcd e = new E2eEtcd(Files.createTempDirectory("septum-it-etcd"), ports[0], ports[1]);
        try {
            e.start();
        } catch (IOException | RuntimeException | Error ex) {
            try {
                e.close();
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
            }
            throw ex;
        }
        return e;
    }

    /** {@code http://127.0.0.1:PORT}, for {@code etcdEndpoints} (with {@code allowInsecure=true}). */
    String url() {
        return "http://127.0.0.1:" + clientPort;
    }

    /** Starts it (again), on the same data and ports; returns once its client port accepts connections. */
    void start() throws IOException {
        String c = url();
        String p = "http://127.0.0.1:" + peerPort;
        process = new ProcessBuilder("etcd", "--name", "septum-it", "--data-dir", dir.resolve("data").toString(),
                "--listen-client-urls", c, "--advertise-client-urls", c, "--listen-peer-urls", p,
                "--initial-advertise-peer-urls", p, "--initial-cluster", "septum-it=" + p)
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("etcd.log").toFile()))
                .start();
        boolean up = E2eSupport.await(Duration.ofSeconds(30), () -> {
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), clientPort)) {
                return true;
            } catch (IOException e) {
                return !process.isAlive();
            }
        });
        if (!up || !process.isAlive()) throw new AssertionError("etcd did not start; see " + dir.resolve("etcd.log"));
    }

    /** SIGKILL, as a crash: the data stays. */
    void kill() throws InterruptedException {
        if (process != null) process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws InterruptedException {
        kill();
        TestFiles.deleteTree(dir);
    }
}
