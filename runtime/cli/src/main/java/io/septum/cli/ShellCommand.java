package io.septum.cli;

import io.septum.api.shell.ShellReply;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jline.reader.EndOfFileException;
import org.jline.reader.LineReader;
import org.jline.reader.LineReaderBuilder;
import org.jline.reader.UserInterruptException;
import org.jline.reader.impl.completer.StringsCompleter;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import picocli.CommandLine.Command;

@Command(name = "shell", mixinStandardHelpOptions = true,
        description = {"Attach to the running agent's Gogo shell over the API socket, as Karaf's bin/client does:",
                "the console's commands (endpoint:list, policy:import, observe, ...) with line editing, TAB completion",
                "of command names and a history in ~/.septum_shell_history. Each line runs in the agent (at most 50 s);",
                "variables live as long as the session. Needs root or the admin group, like every change: policy",
                "changes made here are recorded as \"shell (uid N (USER))\". exit, quit or Ctrl-D ends it."})
final class ShellCommand extends AgentCommand {
    private static final List<String> EXIT = List.of("exit", "quit", "logout");

    /** ~/.septum_shell_history, with ~ as $HOME says (as shells do; Java's user.home is the passwd entry's). */
    static Path historyFile() {
        String home = System.getenv("HOME");
        return Path.of(home == null || home.isBlank() ? System.getProperty("user.home") : home, ".septum_shell_history");
    }

    @Override
    public Integer call() throws IOException {
        SeptumCli cli = cli();
        AgentClient client = cli.client();
        String id = String.valueOf(client.post("/v1/shell/sessions", Map.of(), Map.class).get("id"));
        String session = "/v1/shell/sessions/" + AgentClient.segment(id);
        List<String> names = new ArrayList<>();
        for (Object n : client.get("/v1/shell/commands", List.class)) {
            String s = String.valueOf(n);
            names.add(s);
            int colon = s.indexOf(':');
            if (colon > 0) names.add(s.substring(colon + 1));
        }
        try (Terminal terminal = TerminalBuilder.builder().name("septum").system(true).dumb(true).build()) {
            LineReader reader = LineReaderBuilder.builder().terminal(terminal).appName("septum")
                    .completer(new StringsCompleter(names))
                    .variable(LineReader.HISTORY_FILE, historyFile())
                    .build();
            PrintWriter out = terminal.writer();
            out.println("Connected to the agent's shell (" + client.socket() + "). TAB completes commands; exit ends.");
            out.flush();
            while (true) {
                String line;
                try {
                    line = reader.readLine("septum> ");
                } catch (UserInterruptException e) {
                    continue; // Ctrl-C drops the line, as in the console
                } catch (EndOfFileException e) {
                    break;
                }
                if (line == null) break;
                String trimmed = line.strip();
                if (trimmed.isEmpty()) continue;
                if (EXIT.contains(trimmed)) break;
                ShellReply reply = client.post(session, Map.of("line", line), ShellReply.class);
                out.print(reply.output());
                if (reply.error() != null) out.println("Error: " + reply.error());
                out.flush();
            }
            reader.getHistory().save();
        } finally {
            try {
                client.delete(session);
            } catch (AgentException e) {
                // the session ends by itself when unused: nothing to report on the way out
            }
        }
        return 0;
    }
}
