package io.septum.policy.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.policy.PolicyEngine;
import io.septum.api.policy.PolicyListener;
import io.septum.api.policy.PolicyOffer;
import io.septum.api.policy.PolicyRepository;
import io.septum.api.policy.PolicySink;
import io.septum.api.policy.PolicySource;
import io.septum.api.policy.PolicyValidationException;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.launch.Framework;
import org.osgi.framework.launch.FrameworkFactory;
import org.osgi.util.tracker.ServiceTracker;

/**
 * Boots Felix with SCR, Jackson and snakeyaml as bundles, installs this bundle as bnd built it, and checks that
 * it resolves (its imports are satisfiable without embedding) and that its DS components come up and work.
 * The API packages come from the system bundle so that the test and the bundle share the same classes.
 */
class OsgiBundleTest {
    @TempDir
    Path tmp;

    @Test
    void bundleResolvesAndServicesWork() throws Exception {
        Path state = tmp.resolve("state");
        Map<String, String> props = new HashMap<>();
        props.put(Constants.FRAMEWORK_STORAGE, tmp.resolve("felix").toString());
        props.put(Constants.FRAMEWORK_STORAGE_CLEAN, Constants.FRAMEWORK_STORAGE_CLEAN_ONFIRSTINIT);
        // The test and the bundle must share the API classes, so the API comes from the class path as system
        // packages, at the versions the API bundle itself exports (they move as the API grows).
        props.put(Constants.FRAMEWORK_SYSTEMPACKAGES_EXTRA, apiExports() + ",com.fasterxml.jackson.annotation;version=2.17.2");
        props.put("septum.state.dir", state.toString());
        Framework fw = ServiceLoader.load(FrameworkFactory.class).findFirst().orElseThrow().newFramework(props);
        fw.start();
        try {
            BundleContext ctx = fw.getBundleContext();
            List<Bundle> bundles = new ArrayList<>();
            for (String name : List.of("org.osgi.util.function", "org.osgi.util.promise", "org.osgi.service.component", "org.apache.felix.scr",
                    "jackson-core", "jackson-databind", "jackson-dataformat-yaml", "snakeyaml")) {
                bundles.add(ctx.installBundle(jar(name).toUri().toString()));
            }
            bundles.add(ctx.installBundle(bundleFromClasses().toUri().toString()));
            for (Bundle b : bundles) b.start();

            List<Long> heard = new CopyOnWriteArrayList<>();
            ctx.registerService(PolicyListener.class, (rev, set, mode) -> heard.add(rev), null);

            PolicyRepository repo = await(ctx, PolicyRepository.class);
            PolicyEngine engine = await(ctx, PolicyEngine.class);
            assertNotNull(engine.empty());
            assertEquals("default", repo.mode().toString());
            repo.importPolicies("t.yaml", "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: r}\n"
                    + "spec:\n  endpointSelector: {}\n  ingress:\n  - {}\n");
            assertThrows(PolicyValidationException.class, () -> repo.importPolicies("bad.yaml", "kind: Nope\n"));
            assertEquals(1, repo.revision());
            // L7 regexes compile with RE2/J, embedded in the bundle (not imported): an RE2-only pattern is accepted
            // and a Java-only one refused inside the framework too
            String l7 = "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: l7}\nspec:\n"
                    + "  endpointSelector: {}\n  ingress:\n  - toPorts: [{ports: [{port: '80', protocol: TCP}], "
                    + "rules: {http: [{path: '%s'}]}}]\n";
            PolicyValidationException lookahead = assertThrows(PolicyValidationException.class,
                    () -> repo.importPolicies("l7.yaml", String.format(l7, "/a(?=b)")));
            assertTrue(lookahead.getMessage().contains("`(?=`"), lookahead.getMessage());
            repo.importPolicies("l7.yaml", String.format(l7, "/v1/(?P<kind>items)/[[:digit:]]+"));
            assertEquals(2, repo.revision());
            String imports = bundles.get(bundles.size() - 1).getHeaders().get(Constants.IMPORT_PACKAGE);
            assertFalse(imports.contains("com.google.re2j"), imports);
            assertEquals(List.of(1L, 2L), heard, "listeners are told synchronously, once per change");
            assertTrue(Files.exists(state.resolve("policies/state.json")));

            // The policy-source whiteboard: a registered source is opened, offers into the repository, and is closed
            // when it goes; what it offered stays.
            List<PolicySink> opened = new CopyOnWriteArrayList<>();
            java.util.concurrent.CountDownLatch open = new java.util.concurrent.CountDownLatch(1);
            java.util.concurrent.CountDownLatch closed = new java.util.concurrent.CountDownLatch(1);
            var registration = ctx.registerService(PolicySource.class, new PolicySource() {
                public String name() { return "test"; }
                public void open(PolicySink sink) { opened.add(sink); open.countDown(); }
                public void close() { closed.countDown(); }
            }, null);
            assertTrue(open.await(10, java.util.concurrent.TimeUnit.SECONDS), "the source was opened");
            assertTrue(opened.get(0).upsert(new PolicyOffer("test:r2", "CiliumNetworkPolicy", "default", "r2",
                    "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: r2}\n"
                            + "spec:\n  endpointSelector: {}\n  ingress:\n  - {}\n")));
            assertEquals("test:r2", repo.get("default", "r2").orElseThrow().origin());
            registration.unregister();
            assertTrue(closed.await(10, java.util.concurrent.TimeUnit.SECONDS), "the source was closed when it went");
            assertTrue(repo.get("default", "r2").isPresent(), "what it offered stays in force");
        } finally {
            fw.stop();
            fw.waitForStop(10_000);
        }
    }

    private static <T> T await(BundleContext ctx, Class<T> type) throws InterruptedException {
        ServiceTracker<T, T> t = new ServiceTracker<>(ctx, type, null);
        t.open();
        T service = t.waitForService(10_000);
        if (service == null) throw new AssertionError(type.getSimpleName() + " service did not appear within 10 s");
        return service;
    }

    /** The Export-Package header of the septum-api jar on the class path, without its uses directives. */
    private static String apiExports() throws IOException {
        try (var api = new java.util.jar.JarFile(jar("septum-api").toFile())) {
            String exports = api.getManifest().getMainAttributes().getValue("Export-Package");
            return exports.replaceAll(";uses:=\"[^\"]*\"", "");
        }
    }

    private static Path jar(String artifact) {
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            String f = Path.of(e).getFileName().toString();
            if (f.startsWith(artifact + "-") && f.endsWith(".jar") && Character.isDigit(f.charAt(artifact.length() + 1))) {
                return Path.of(e);
            }
        }
        throw new IllegalStateException(artifact + " is not on the test class path");
    }

    /** This bundle as bnd made it: target/classes with the generated manifest. */
    private Path bundleFromClasses() throws IOException {
        Path classes = Path.of("target/classes");
        Path mf = classes.resolve("META-INF/MANIFEST.MF");
        assertTrue(Files.exists(mf), "bnd did not write " + mf.toAbsolutePath());
        Manifest manifest;
        try (var in = Files.newInputStream(mf)) {
            manifest = new Manifest(in);
        }
        Path out = tmp.resolve("septum-policy.jar");
        try (OutputStream os = Files.newOutputStream(out); JarOutputStream jar = new JarOutputStream(os, manifest);
             Stream<Path> files = Files.walk(classes)) {
            for (Path p : files.filter(Files::isRegularFile).toList()) {
                String name = classes.relativize(p).toString().replace(File.separatorChar, '/');
                if (name.equals("META-INF/MANIFEST.MF")) continue;
                jar.putNextEntry(new JarEntry(name));
                Files.copy(p, jar);
                jar.closeEntry();
            }
        }
        return out;
    }
}
