package io.septum.itests.osgi;

import static org.junit.Assert.assertEquals;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;

/** A bundle dropped into deploy/ is installed and started while the agent runs, and removed with its file. */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class HotDeployIT extends SeptumTestSupport {
    private static final String BSN = "sept-itest-hotdeploy";

    @Test
    public void bundleDroppedInDeployIsStartedAndRemovedWithItsFile() throws Exception {
        Path deploy = Path.of(bundleContext.getProperty("septum.home"), "deploy");
        Path jar = deploy.resolve(BSN + ".jar");
        Path tmp = deploy.resolveSibling(BSN + ".jar.tmp");
        writeBundle(tmp);
        // Appear at once, as an operator's mv would, so that FileInstall never sees half a jar.
        Files.move(tmp, jar, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        try {
            await(BSN + " ACTIVE after dropping it in " + deploy, () -> bundle(BSN).map(Bundle::getState).orElse(0) == Bundle.ACTIVE);
        } finally {
            Files.deleteIfExists(jar);
        }
        await(BSN + " uninstalled after removing its file", () -> bundle(BSN).isEmpty());
        assertEquals(Optional.empty(), bundle(BSN));
    }

    private static void writeBundle(Path path) throws Exception {
        Manifest mf = new Manifest();
        Attributes a = mf.getMainAttributes();
        a.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        a.putValue("Bundle-ManifestVersion", "2");
        a.putValue("Bundle-SymbolicName", BSN);
        a.putValue("Bundle-Version", "1.0.0");
        try (OutputStream out = Files.newOutputStream(path); JarOutputStream j = new JarOutputStream(out, mf)) {
            j.flush();
        }
    }
}
