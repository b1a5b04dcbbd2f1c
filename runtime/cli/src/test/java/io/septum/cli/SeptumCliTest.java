package io.septum.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** A run builds the model of the one command it names; help and unknown names still see them all. */
class SeptumCliTest {
    @Test
    void theCommandIsTheFirstWordThatIsNotARootOptionOrItsValue() {
        assertEquals("status", SeptumCli.commandName(new String[] {"status"}));
        assertEquals("endpoint", SeptumCli.commandName(new String[] {"--socket", "/x.sock", "endpoint", "list"}));
        assertEquals("policy", SeptumCli.commandName(new String[] {"--socket=/x.sock", "-o", "json", "policy", "list"}));
        assertEquals("identity", SeptumCli.commandName(new String[] {"-ojson", "--output=table", "identity", "get", "7"}));
        assertEquals("status", SeptumCli.commandName(new String[] {"--output", "json", "status", "--socket", "/y"}));
        assertNull(SeptumCli.commandName(new String[] {}));
        assertNull(SeptumCli.commandName(new String[] {"--help"}));
        assertNull(SeptumCli.commandName(new String[] {"-V", "status"}));
        assertNull(SeptumCli.commandName(new String[] {"--socket"}));
        assertTrue(SeptumCli.versionOnly(new String[] {"--version"}));
        assertTrue(SeptumCli.versionOnly(new String[] {"-o", "json", "-V"}));
        assertFalse(SeptumCli.versionOnly(new String[] {"status", "--version"}));
        assertFalse(SeptumCli.versionOnly(new String[] {"--help"}));
    }

    @Test
    void theVersionComesFromTheRootAlone() {
        assertEquals(Set.of(), tree(SeptumCli.NO_COMMAND).getSubcommands().keySet());
        StringWriter out = new StringWriter();
        assertEquals(0, SeptumCli.execute(new String[] {"--version"}, new PrintWriter(out, true),
                new PrintWriter(new StringWriter(), true)));
        assertTrue(out.toString().startsWith("septum "), out.toString());
    }

    @Test
    void aKnownCommandGetsATreeOfItsOwn() {
        assertEquals(Set.of("status"), tree("status").getSubcommands().keySet());
        assertEquals(Set.of("policy"), tree("policy").getSubcommands().keySet());
        // help needs every command, and a name that is none of them gets every one to suggest from
        for (String all : new String[] {null, "help", "stauts"}) {
            Set<String> names = tree(all).getSubcommands().keySet();
            assertTrue(names.containsAll(List.of("help", "status", "endpoint", "policy", "bpf", "observe", "shell")),
                    all + ": " + names);
        }
    }

    @Test
    void helpAndErrorsReadAsWithTheWholeTree(@TempDir Path dir) throws Exception {
        CliRun help = CliRun.run("--help");
        assertEquals(0, help.code(), help.toString());
        for (String c : List.of("status", "endpoint", "policy", "monitor", "observe")) {
            assertTrue(help.out().contains("  " + c + " "), c + " missing from\n" + help.out());
        }
        CliRun sub = CliRun.run("help", "policy");
        assertEquals(0, sub.code(), sub.toString());
        assertTrue(sub.out().contains("import"), sub.toString());
        CliRun typo = CliRun.run("stauts");
        assertEquals(2, typo.code(), typo.toString());
        assertTrue(typo.err().contains("Did you mean: septum status"), typo.toString());
        // the command's own help is the same whether the tree holds one command or all of them
        StringWriter whole = new StringWriter();
        SeptumCli.commandLine(new SeptumCli(), new PrintWriter(whole, true), new PrintWriter(new StringWriter(), true))
                .execute("endpoint", "list", "--help");
        assertEquals(whole.toString(), CliRun.run("endpoint", "list", "--help").out());
        // a socket that is not there is said at once, in the same words as a refused one
        CliRun down = CliRun.at(dir.resolve("none.sock"), "status");
        assertEquals(1, down.code(), down.toString());
        assertEquals("septum: cannot reach the agent at " + dir.resolve("none.sock")
                + " (is 'septum agent' running?)\n", down.err());
        Path refused = dir.resolve("refused.sock");
        Files.writeString(refused, "");
        CliRun nobody = CliRun.at(refused, "status");
        assertEquals(1, nobody.code(), nobody.toString());
        assertEquals("septum: cannot reach the agent at " + refused + " (is 'septum agent' running?)\n", nobody.err());
    }

    private static CommandLine tree(String only) {
        PrintWriter sink = new PrintWriter(new StringWriter(), true);
        return SeptumCli.commandLine(new SeptumCli(), sink, sink, only);
    }
}
