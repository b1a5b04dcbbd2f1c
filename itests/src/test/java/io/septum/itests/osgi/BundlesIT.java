package io.septum.itests.osgi;

import static org.junit.Assert.assertEquals;

import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.TreeSet;
import java.util.jar.JarFile;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.Assume;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;

/** Every Septum bundle resolves and starts in the container the distribution describes. */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class BundlesIT extends SeptumTestSupport {
    @Test
    public void everySeptumBundleIsActive() throws Exception {
        await("every Septum bundle to be ACTIVE, now " + states(), () -> SEPTUM_BUNDLES.stream()
                .allMatch(bsn -> "ACTIVE".equals(states().get(bsn))));
        Map<String, String> expected = new TreeMap<>();
        SEPTUM_BUNDLES.forEach(bsn -> expected.put(bsn, "ACTIVE"));
        Map<String, String> actual = new TreeMap<>(states());
        actual.keySet().retainAll(SEPTUM_BUNDLES);
        assertEquals(expected, actual);
    }

    @Test
    public void noBundleIsLeftUnresolved() {
        String notActive = Arrays.stream(bundleContext.getBundles())
                .filter(b -> b.getState() != Bundle.ACTIVE && b.getHeaders().get("Fragment-Host") == null)
                .map(b -> b.getSymbolicName() + "=" + state(b))
                .collect(Collectors.joining(", "));
        assertEquals("bundles not active", "", notActive);
    }

    /** The container is the distribution: every bundle of its bundle/ directory is installed here too. */
    @Test
    public void containerHoldsEveryBundleOfTheDistribution() throws Exception {
        Path dir = Path.of(System.getProperty("septum.distribution", "../distribution/target/septum"), "bundle");
        Assume.assumeTrue("distribution not built: " + dir, Files.isDirectory(dir));
        Set<String> distributed = new TreeSet<>();
        try (DirectoryStream<Path> jars = Files.newDirectoryStream(dir, "*.jar")) {
            for (Path jar : jars) {
                try (JarFile jf = new JarFile(jar.toFile())) {
                    String bsn = jf.getManifest().getMainAttributes().getValue("Bundle-SymbolicName");
                    if (bsn != null) distributed.add(bsn.split(";")[0].trim());
                }
            }
        }
        Set<String> here = Arrays.stream(bundleContext.getBundles()).map(Bundle::getSymbolicName)
                .collect(Collectors.toCollection(TreeSet::new));
        Set<String> missing = new TreeSet<>(distributed);
        missing.removeAll(here);
        assertEquals("bundles of " + dir + " that SeptumTestSupport does not install", Set.of(), missing);
    }

    private Map<String, String> states() {
        return Arrays.stream(bundleContext.getBundles())
                .filter(b -> b.getSymbolicName() != null && b.getSymbolicName().startsWith("septum-"))
                .collect(Collectors.toMap(Bundle::getSymbolicName, BundlesIT::state, (a, b) -> a + "," + b));
    }

    private static String state(Bundle b) {
        return switch (b.getState()) {
            case Bundle.ACTIVE -> "ACTIVE";
            case Bundle.RESOLVED -> "RESOLVED";
            case Bundle.INSTALLED -> "INSTALLED";
            case Bundle.STARTING -> "STARTING";
            case Bundle.STOPPING -> "STOPPING";
            default -> "UNINSTALLED";
        };
    }
}
