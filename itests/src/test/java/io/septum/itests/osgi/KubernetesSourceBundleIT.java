package io.septum.itests.osgi;

import static org.junit.Assert.assertTrue;

import io.septum.api.EndpointSource;
import io.septum.api.HealthReporter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;
import java.util.function.Predicate;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.ServiceReference;

/**
 * The optional kubernetes source, with fabric8 and its own Jackson embedded, resolves and starts in the agent's
 * Felix when dropped into deploy/, registers its endpoint source, and goes away with its file. Without an API
 * server it only reports itself degraded (the e2e test K8sSourceIT drives it against a mock API server).
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class KubernetesSourceBundleIT extends SeptumTestSupport {
    private static final String BSN = "io.septum.source.kubernetes";

    @Test
    public void bundleResolvesStartsAndRegistersItsSource() throws Exception {
        Path jar = Path.of(System.getProperty("septum.distribution", "../distribution/target/septum"),
                "optional/septum-source-kubernetes.jar");
        assertTrue("the distribution has " + jar, Files.isRegularFile(jar));
        Path deploy = Path.of(bundleContext.getProperty("septum.home"), "deploy");
        Path etc = Path.of(bundleContext.getProperty("septum.etc.dir"));
        // A kubeconfig whose server is not there: the source must start anyway and say it cannot reach it.
        Path kubeconfig = Files.createTempFile("sept-itest-kubeconfig", ".yaml");
        Files.writeString(kubeconfig, "apiVersion: v1\nkind: Config\nclusters:\n- name: none\n  cluster:\n"
                + "    server: http://127.0.0.1:9\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: c\n"
                + "  context:\n    cluster: none\n    user: u\ncurrent-context: c\n");
        Path cfg = etc.resolve("io.septum.source.kubernetes.cfg");
        Files.writeString(cfg, "kubeconfig=" + kubeconfig + "\nnodeName=sept-itest-node\n");
        Path target = deploy.resolve("septum-source-kubernetes.jar");
        Path tmp = deploy.resolveSibling("septum-source-kubernetes.jar.tmp");
        Files.copy(jar, tmp, StandardCopyOption.REPLACE_EXISTING);
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        try {
            await(BSN + " ACTIVE after dropping it in " + deploy, () -> bundle(BSN).map(Bundle::getState).orElse(0) == Bundle.ACTIVE);
            await("the k8s endpoint source registered", () -> source().isPresent());
            await("source-kubernetes in health, degraded without an API server", () -> health()
                    .map(h -> h.health().name().equals("source-kubernetes") && h.health().state().equals("degraded"))
                    .orElse(false));
        } finally {
            Files.deleteIfExists(target);
            Files.deleteIfExists(cfg);
            Files.deleteIfExists(kubeconfig);
        }
        await(BSN + " uninstalled after removing its file", () -> bundle(BSN).isEmpty());
        await("the k8s endpoint source gone", () -> source().isEmpty());
    }

    private Optional<EndpointSource> source() {
        return service(EndpointSource.class, s -> "k8s".equals(s.name()));
    }

    private Optional<HealthReporter> health() {
        return service(HealthReporter.class, h -> h.health().name().equals("source-kubernetes"));
    }

    /** The first registered service of {@code type} that {@code which} accepts, if there is one. */
    private <T> Optional<T> service(Class<T> type, Predicate<T> which) {
        try {
            for (ServiceReference<T> r : bundleContext.getServiceReferences(type, null)) {
                T s = bundleContext.getService(r);
                if (s != null && which.test(s)) return Optional.of(s);
            }
        } catch (org.osgi.framework.InvalidSyntaxException e) {
            throw new AssertionError(e);
        }
        return Optional.empty();
    }
}
