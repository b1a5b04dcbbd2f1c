package io.septum.apiserver.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.ComponentStatus;
import io.septum.api.HealthReporter;
import java.io.IOException;
import java.lang.reflect.Proxy;
import java.net.ConnectException;
import java.net.Socket;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;

/** The component's promise: the peer port never opens without TLS and client certificates, and says why. */
class PeerFlowComponentTest {
    @TempDir
    Path dir;

    private final List<HealthReporter> reporters = new CopyOnWriteArrayList<>();
    private PeerFlowComponent component;

    @Test
    void withoutTlsFilesThePortStaysClosedAndStatusSaysWhy() throws Exception {
        int port = freePort();
        activate(Map.of("etcdEndpoints", "https://127.0.0.1:2379", "peerPort", port, "nodeAddresses", "127.0.0.1"));
        ComponentStatus s = reporters.get(0).health();
        assertEquals("failed", s.state(), s.toString());
        assertTrue(s.message().contains("not listening on port " + port) && s.message().contains("peerCertFile"), s.message());
        assertThrows(ConnectException.class, () -> new Socket("127.0.0.1", port).close());
    }

    @Test
    void aMissingFileIsNamedWithItsKey() throws Exception {
        activate(Map.of("etcdEndpoints", "https://127.0.0.1:2379", "peerPort", freePort(), "peerAddress", "127.0.0.1",
                "caFile", dir.resolve("ca.pem").toString(), "certFile", dir.resolve("node.pem").toString(),
                "keyFile", dir.resolve("node-key.pem").toString()));
        String m = reporters.get(0).health().message();
        assertTrue(m.contains("peerCaFile " + dir.resolve("ca.pem") + " does not exist"), m);
    }

    @Test
    void withTlsFilesItServesAndRefusesClientsWithoutCertificates() throws Exception {
        PeerTls tls = nodeCertificate();
        int port = freePort();
        serving(tls, port);
        String m = reporters.get(0).health().message();
        assertTrue(m.contains("127.0.0.1:" + port) && m.contains("client certificates"), m);
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(5_000);
            s.getOutputStream().write("GET /v1/flows HTTP/1.1\r\n\r\n".getBytes());
            byte[] got = s.getInputStream().readNBytes(5);
            assertTrue(got.length == 0 || !new String(got).startsWith("HTTP"), new String(got));
        } catch (IOException reset) {
            // refused in the handshake: what is expected
        }
    }

    @Test
    void refusedRotatedFilesKeepServingAndStatusNamesTheFile() throws Exception {
        PeerTls tls = nodeCertificate();
        int port = freePort();
        serving(tls, port);
        java.nio.file.Files.writeString(tls.cert(), "not a certificate\n");
        // each new connection may look at the files (at most every PeerFlowComponent.TLS_CHECK_MILLIS)
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PeerFlowComponent.TLS_CHECK_MILLIS + 8_000);
        ComponentStatus s = reporters.get(0).health();
        while (!s.state().equals("degraded") && System.nanoTime() < end) {
            new Socket("127.0.0.1", port).close();
            TimeUnit.MILLISECONDS.sleep(200);
            s = reporters.get(0).health();
        }
        assertEquals("degraded", s.state(), s.toString());
        assertTrue(s.message().startsWith("serving flows to peers on /127.0.0.1:" + port), s.message());
        assertTrue(s.message().contains("the TLS files on disk are refused, still using certificate CN=node-a")
                && s.message().endsWith("peerCertFile " + tls.cert() + " is not a PEM certificate: No certificate data found"),
                s.message());
    }

    @Test
    void standaloneOpensNothingAndSaysNothing() throws Exception {
        int port = freePort();
        activate(Map.of("peerPort", port, "nodeAddresses", "127.0.0.1"));
        assertTrue(reporters.isEmpty());
        assertThrows(ConnectException.class, () -> new Socket("127.0.0.1", port).close());
    }

    /** A cluster CA and node-a's certificate, made by openssl. */
    private PeerTls nodeCertificate() throws Exception {
        PeerCertificates certs = new PeerCertificates(dir);
        certs.ca("ca");
        return certs.node("ca", "node-a");
    }

    /** The component with the peer service on {@code port} and these files, once its status line says ok. */
    private void serving(PeerTls tls, int port) throws InterruptedException {
        activate(Map.of("etcdEndpoints", "https://127.0.0.1:2379", "peerPort", port, "peerAddress", "127.0.0.1",
                "peerCaFile", tls.ca().toString(), "peerCertFile", tls.cert().toString(), "peerKeyFile", tls.key().toString()));
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!reporters.get(0).health().state().equals("ok") && System.nanoTime() < end) TimeUnit.MILLISECONDS.sleep(20);
    }

    /** Activates the component with this configuration; {@link #deactivate} ends it after the test. */
    private void activate(Map<String, Object> config) {
        component = new PeerFlowComponent(context(), config(config));
    }

    @AfterEach
    void deactivate() {
        if (component != null) component.deactivate();
    }

    private static int freePort() throws IOException {
        return io.septum.testsupport.TestPorts.free(1)[0];
    }

    /** The configuration as DS hands it over: every key not given has its default. */
    private static PeerFlowComponent.Config config(Map<String, Object> values) {
        Map<String, Object> v = new HashMap<>(values);
        return (PeerFlowComponent.Config) Proxy.newProxyInstance(PeerFlowComponent.Config.class.getClassLoader(),
                new Class<?>[] {PeerFlowComponent.Config.class}, (p, m, a) -> v.containsKey(m.getName())
                        ? v.get(m.getName()) : m.getDefaultValue());
    }

    /** Records the health reporter the component registers. */
    private BundleContext context() {
        ServiceRegistration<?> reg = (ServiceRegistration<?>) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {ServiceRegistration.class}, (p, m, a) -> {
                    if (m.getName().equals("unregister")) reporters.clear();
                    return null;
                });
        return (BundleContext) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {BundleContext.class},
                (p, m, a) -> {
                    if (m.getName().equals("registerService") && a[1] instanceof HealthReporter h) {
                        reporters.add(h);
                        return reg;
                    }
                    throw new UnsupportedOperationException(m.getName());
                });
    }
}
