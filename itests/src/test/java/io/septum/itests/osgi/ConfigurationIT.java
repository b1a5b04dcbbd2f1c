package io.septum.itests.osgi;

import static org.junit.Assert.assertEquals;

import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.PolicyRepository;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import javax.inject.Inject;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

/** A *.cfg file in etc/ configures the running agent: editing it changes the component's configuration. */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class ConfigurationIT extends SeptumTestSupport {
    @Inject
    PolicyRepository policies;

    @Test
    public void editingEtcPolicyCfgChangesTheEnforcementMode() throws Exception {
        Path etc = Path.of(bundleContext.getProperty("septum.etc.dir"));
        Path cfg = etc.resolve("io.septum.policy.cfg");
        await("enforcement mode default from " + cfg, () -> mode() == EnforcementMode.DEFAULT);
        replace(cfg, "enforcementMode=always\n");
        await("enforcement mode always after editing " + cfg + " (now " + mode() + ")",
                () -> mode() == EnforcementMode.ALWAYS);
        replace(cfg, "enforcementMode=default\n");
        await("enforcement mode default again (now " + mode() + ")", () -> mode() == EnforcementMode.DEFAULT);
        assertEquals(EnforcementMode.DEFAULT, mode());
    }

    /** The repository may be re-created on a change; an unbound moment reads as null and is polled over. */
    private EnforcementMode mode() {
        try {
            return policies.mode();
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** Like an editor's save: a new file moved over the old one, never a half-written file. */
    private static void replace(Path file, String content) throws Exception {
        Path tmp = file.resolveSibling(file.getFileName() + ".new");
        Files.writeString(tmp, content);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
