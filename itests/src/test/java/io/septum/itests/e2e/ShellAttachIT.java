package io.septum.itests.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * {@code septum shell} in a real terminal: tmux runs it against a running agent, the test types with
 * {@code send-keys} and reads the screen with {@code capture-pane}. TAB completes a command name; a command lists
 * the agent's state; a variable lives across lines; an error is shown and the shell goes on; a policy imported
 * from the shell is recorded with the caller as author; exit ends the session in the agent.
 */
class ShellAttachIT {
    private static final Duration SCREEN = Duration.ofSeconds(20);

    @Test
    void theAgentsShellInATerminalWithCompletionVariablesAndAuthor() throws Exception {
        if (E2eSupport.exec(Duration.ofSeconds(10), List.of("tmux", "-V")).exit() != 0) {
            String msg = "tmux is not installed (apt-get install tmux): septum shell cannot be tested in a terminal";
            if (Boolean.getBoolean("septum.e2e.required")) fail(msg);
            Assumptions.assumeTrue(false, msg);
        }
        Path septum = E2eSupport.septum();
        String tmux = "sept-t-shell-" + ProcessHandle.current().pid();
        Path policy = Files.createTempFile("sept-t-shell-", ".yaml");
        try (E2eSupport.Agent agent = E2eSupport.Agent.start(septum)) {
            Files.copy(septum.getParent().getParent().resolve("examples/sw_l3_l4_policy.yaml"), policy,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            E2eSupport.Run started = E2eSupport.exec(Duration.ofSeconds(10), List.of("tmux", "new-session", "-d", "-s", tmux,
                    "-x", "160", "-y", "50", "env", "HOME=" + policy.getParent(), septum.toString(), "--socket",
                    agent.socket().toString(), "shell"));
            assertEquals(0, started.exit(), started.toString());
            screen(tmux, "the prompt", s -> s.contains("septum>"));

            keys(tmux, "endpoint:li", "Tab");
            screen(tmux, "TAB completing endpoint:list", s -> s.contains("septum> endpoint:list"));
            keys(tmux, "Enter");
            screen(tmux, "the endpoint table", s -> s.contains("NAME") || s.contains("No endpoints"));

            keys(tmux, "x = 41", "Enter");
            keys(tmux, "echo \"answer $x\"", "Enter");
            screen(tmux, "the variable of the line before", s -> s.contains("answer 41"));

            keys(tmux, "policy:get nosuch", "Enter");
            screen(tmux, "the error, and the shell going on", s -> s.contains("Error:") && s.endsWith("septum>"));

            keys(tmux, "policy:import " + policy, "Enter");
            screen(tmux, "the import", s -> s.contains("Imported 1 policies"));
            E2eSupport.Run history = agent.cli("policy", "history", "rule1");
            assertTrue(history.out().contains("shell (uid 0 (root))"), "the shell's caller is the author\n" + history);

            keys(tmux, "exit", "Enter");
            assertTrue(E2eSupport.await(SCREEN, () -> E2eSupport.exec(Duration.ofSeconds(5),
                    List.of("tmux", "has-session", "-t", tmux)).exit() != 0), "exit ends septum shell");
            assertTrue(Files.exists(policy.getParent().resolve(".septum_shell_history")), "the history file is written");
        } finally {
            E2eSupport.exec(Duration.ofSeconds(10), List.of("tmux", "kill-session", "-t", tmux));
            Files.deleteIfExists(policy.getParent().resolve(".septum_shell_history"));
            Files.deleteIfExists(policy);
        }
    }

    private static void keys(String tmux, String... keys) {
        List<String> cmd = new java.util.ArrayList<>(List.of("tmux", "send-keys", "-t", tmux));
        for (String k : keys) {
            // literal text is sent with -l so that words such as "Enter" inside it are not key names
            if (k.equals("Enter") || k.equals("Tab")) cmd.add(k);
            else {
                E2eSupport.Run r = E2eSupport.exec(Duration.ofSeconds(10), List.of("tmux", "send-keys", "-t", tmux, "-l", k));
                assertEquals(0, r.exit(), r.toString());
                continue;
            }
            E2eSupport.Run r = E2eSupport.exec(Duration.ofSeconds(10), cmd);
            assertEquals(0, r.exit(), r.toString());
            cmd = new java.util.ArrayList<>(List.of("tmux", "send-keys", "-t", tmux));
        }
    }

    /** Waits until the pane's text (trailing blanks stripped) satisfies {@code ok}. */
    private static String screen(String tmux, String what, Predicate<String> ok) {
        AtomicReference<String> last = new AtomicReference<>("");
        boolean done = E2eSupport.await(SCREEN, () -> {
            E2eSupport.Run r = E2eSupport.exec(Duration.ofSeconds(10), List.of("tmux", "capture-pane", "-p", "-t", tmux));
            last.set(r.out().strip());
            return ok.test(last.get());
        });
        assertTrue(done, "the terminal did not show " + what + " within " + SCREEN.toSeconds() + " s:\n" + last.get());
        return last.get();
    }
}
