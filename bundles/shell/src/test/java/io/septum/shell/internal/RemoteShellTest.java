package io.septum.shell.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.shell.ShellReply;
import java.util.NoSuchElementException;
import org.apache.felix.gogo.runtime.CommandProcessorImpl;
import org.apache.felix.gogo.runtime.threadio.ThreadIOImpl;
import org.apache.felix.service.command.CommandSession;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Remote sessions on a real Gogo runtime: output, results, errors, variables, authors, limits. */
class RemoteShellTest {
    private ThreadIOImpl tio;
    private CommandProcessorImpl processor;
    private RemoteShellComponent shell;

    /** Commands of the test: one prints, one fails, one says who the session acts for. */
    public static final class Probe {
        SessionAuthors authors;

        public void hello(String name) {
            System.out.println("hello " + name);
        }

        public String twice(String s) {
            return s + s;
        }

        public void fail() {
            throw new ShellException("it failed, as asked");
        }

        public void who(CommandSession session) {
            System.out.println(SessionAuthors.of(authors, session));
        }
    }

    @BeforeEach
    void start() {
        tio = new ThreadIOImpl();
        tio.start();
        processor = new CommandProcessorImpl(tio);
        shell = new RemoteShellComponent(processor);
        Probe p = new Probe();
        p.authors = shell;
        for (String f : new String[] {"hello", "twice", "fail", "who"}) processor.addCommand("test", p, f);
    }

    @AfterEach
    void stop() {
        shell.deactivate();
        processor.stop();
        tio.stop();
    }

    @Test
    void aSessionRunsLinesKeepsVariablesAndActsForItsCaller() {
        String id = shell.open("shell (uid 0 (root))");
        ShellReply hello = shell.execute(id, "test:hello world");
        assertEquals("hello world\n", hello.output());
        assertNull(hello.error());
        assertEquals("abab\n", shell.execute(id, "twice ab").output(), "a result is printed as the console would");
        shell.execute(id, "x = cd");
        assertEquals("cdcd\n", shell.execute(id, "twice $x").output(), "variables live as long as the session");
        ShellReply failed = shell.execute(id, "fail");
        assertEquals("it failed, as asked", failed.error());
        ShellReply unknown = shell.execute(id, "nosuch:command");
        assertTrue(unknown.error() != null && unknown.error().contains("nosuch:command"), unknown.toString());

        assertEquals("shell (uid 0 (root))\n", shell.execute(id, "who").output());
        shell.execute(id, "SEPTUM_AUTHOR = mallory");
        assertEquals("shell (uid 0 (root))\n", shell.execute(id, "who").output(), "a variable cannot change the author");
        String other = shell.open("shell (uid 1000 (alice))");
        assertEquals("shell (uid 1000 (alice))\n", shell.execute(other, "who").output());
        assertTrue(shell.commands().contains("test:hello"), shell.commands().toString());

        shell.close(id);
        assertThrows(NoSuchElementException.class, () -> shell.execute(id, "who"));
        CommandSession console = processor.createSession(System.in, System.out, System.err);
        assertEquals(SessionAuthors.CONSOLE, SessionAuthors.of(shell, console), "a session it does not know is the console's");
        console.close();
    }

    @Test
    void sessionsAreBounded() {
        for (int i = 0; i < 16; i++) shell.open("a");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> shell.open("a"));
        assertTrue(e.getMessage().contains("16 shell sessions are open"), e.getMessage());
    }
}
