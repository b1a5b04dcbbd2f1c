package io.septum.cli.connectivity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.septum.api.policy.PolicyEngine;
import io.septum.cli.SeptumCli;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/** One run of the {@code septum} command line, lab commands included, with its output captured: for the lab's tests. */
record LabCliRun(int exit, String out, String err) {
    static LabCliRun run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = SeptumCli.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new LabCliRun(exit, out.toString(), err.toString());
    }

    /**
     * {@code connectivity test [options] --case caseFile} against a socket in {@code dir} with no agent behind it:
     * what is checked before the agent is asked.
     */
    static LabCliRun testWithoutAgent(Path dir, Path caseFile, String... options) {
        List<String> args = new ArrayList<>(List.of("--socket", dir.resolve("none.sock").toString(), "connectivity", "test"));
        args.addAll(List.of(options));
        args.add("--case");
        args.add(caseFile.toString());
        return run(args.toArray(String[]::new));
    }

    /** Asserts that the command refused its input (exit 2) with a message that names each of {@code named}. */
    void assertInvalidInput(String... named) {
        assertEquals(2, exit, toString());
        for (String n : named) assertTrue(err.contains(n), "\"" + n + "\" not named in: " + err);
    }

    /** Skips the test when the offline policy engine, which checks the cases, is not on the class path. */
    static void needEngine() {
        assumeTrue(ServiceLoader.load(PolicyEngine.class).findFirst().isPresent(),
                "septum-policy is not on the test classpath (built with -Dseptum.runtime.nopolicy)");
    }
}
