package io.septum.itests.osgi;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.septum.api.ComponentStatus;
import io.septum.api.HealthReporter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Optional;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.ServiceReference;

/**
 * The web UI bundle in the container: off until etc/io.septum.webui.cfg enables it, then it serves its page and
 * answers from the agent's own services (the JDK's HTTP server reaches it through the system bundle); a
 * non-loopback address in the file is refused and said in its health line.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class WebUiBundleIT extends SeptumTestSupport {
    @Test
    public void enablingItInEtcServesThePageAndTheApiOnLoopbackOnly() throws Exception {
        Path cfg = Path.of(bundleContext.getProperty("septum.etc.dir")).resolve("io.septum.webui.cfg");
        await("the web-ui line says disabled, now " + health(), () -> health().map(h -> h.message().startsWith("disabled")).orElse(false));
        try {
            replace(cfg, "enabled=true\nport=0\n");
            await("the web UI listening, now " + health(), () -> health().map(h -> h.message().startsWith("listening on http://127.0.0.1:")).orElse(false));
            String msg = health().orElseThrow().message();
            String base = msg.substring("listening on ".length(), msg.indexOf('/', "listening on http://".length()));
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            HttpResponse<String> page = http.send(HttpRequest.newBuilder(URI.create(base + "/")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, page.statusCode());
            assertTrue(page.body(), page.body().contains("<script src=\"app.js\">"));
            HttpResponse<String> eps = http.send(HttpRequest.newBuilder(URI.create(base + "/api/endpoints")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(eps.body(), 200, eps.statusCode());
            assertTrue(eps.body(), eps.body().startsWith("["));
            HttpResponse<String> flows = http.send(HttpRequest.newBuilder(URI.create(base + "/api/flows?verdict=DROPPED")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(flows.body(), 200, flows.statusCode());

            replace(cfg, "enabled=true\nport=0\naddress=0.0.0.0\n");
            await("the web UI refusing 0.0.0.0, now " + health(), () -> health().map(h -> "failed".equals(h.state())
                    && h.message().contains("address 0.0.0.0 is not a loopback address")).orElse(false));
        } finally {
            Files.deleteIfExists(cfg);
        }
        await("the web-ui line says disabled again, now " + health(), () -> health().map(h -> h.message().startsWith("disabled")).orElse(false));
    }

    private Optional<ComponentStatus> health() {
        try {
            for (ServiceReference<HealthReporter> ref : bundleContext.getServiceReferences(HealthReporter.class, null)) {
                HealthReporter r = bundleContext.getService(ref);
                try {
                    ComponentStatus s = r == null ? null : r.health();
                    if (s != null && "web-ui".equals(s.name())) return Optional.of(s);
                } finally {
                    bundleContext.ungetService(ref);
                }
            }
        } catch (Exception e) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    private static void replace(Path file, String content) throws Exception {
        Path tmp = file.resolveSibling(file.getFileName() + ".new");
        Files.writeString(tmp, content);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
