package io.septum.cli;

import io.septum.api.policy.ValidationError;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/**
 * {@code septum <noun> <verb>}: the operator's command line. Every command but the offline policy tools talks to
 * the agent's REST API on its unix socket. Tables by default, {@code -o json} everywhere; errors on stderr with a
 * non-zero exit status (1: the agent refused or is unreachable, 2: invalid input).
 *
 * <p>Subcommands reach the shared state with {@link #of(CommandSpec)}: the {@link AgentClient} for the chosen
 * socket, the {@link Output} for the chosen format, and the streams of this run.
 */
@Command(name = "septum", mixinStandardHelpOptions = true, versionProvider = SeptumCli.Version.class,
        description = "Septum micro-segmentation agent: endpoints, identities, policies and the eBPF datapath.",
        synopsisSubcommandLabel = "COMMAND",
        subcommands = {
                CommandLine.HelpCommand.class,
                StatusCommand.class,
                EndpointCommand.class,
                NamespaceCommand.class,
                ServiceCommand.class,
                IdentityCommand.class,
                FqdnCommand.class,
                ClusterCommand.class,
                NodeCommand.class,
                PolicyCommand.class,
                BpfCommand.class,
                MonitorCommand.class,
                ObserveCommand.class,
                UiCommand.class,
                ShellCommand.class,
        })
public final class SeptumCli implements Runnable {
    @Spec
    private CommandSpec spec;

    @Option(names = "--socket", scope = ScopeType.INHERIT, paramLabel = "PATH",
            defaultValue = "${env:SEPTUM_SOCKET:-" + AgentClient.DEFAULT_SOCKET + "}",
            description = "The agent's API socket (default: $SEPTUM_SOCKET, else " + AgentClient.DEFAULT_SOCKET + ").")
    private Path socket;

    @Option(names = {"-o", "--output"}, scope = ScopeType.INHERIT, paramLabel = "FORMAT", defaultValue = "table",
            description = "Output format: table or json (default: ${DEFAULT-VALUE}).")
    private String output;

    private InputStream in = System.in;
    private AgentClient client;

    public static void main(String[] args) {
        System.exit(execute(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs one command line with these streams and returns its exit status. */
    public static int execute(String[] args, PrintWriter out, PrintWriter err) {
        return commandLine(new SeptumCli(), out, err).execute(args);
    }

    /** The full command tree around {@code root}, printing to {@code out} and {@code err}. */
    public static CommandLine commandLine(SeptumCli root, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(root);
        for (CommandLine c : contributed()) cl.addSubcommand(c);
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> report(ex, cmd.getErr()));
        return cl;
    }

    /** The {@link SeptumCommand}s of the other modules on the class path (the lab's), by name. */
    static List<CommandLine> contributed() {
        List<CommandLine> commands = new ArrayList<>();
        for (SeptumCommand c : ServiceLoader.load(SeptumCommand.class, SeptumCli.class.getClassLoader())) {
            commands.add(new CommandLine(c));
        }
        commands.sort(Comparator.comparing(CommandLine::getCommandName));
        return commands;
    }

    /** The root of the command that {@code spec} belongs to. */
    public static SeptumCli of(CommandSpec spec) {
        Object root = spec.root().userObject();
        if (root instanceof SeptumCli s) return s;
        throw new IllegalStateException("command " + spec.qualifiedName() + " is not under septum");
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getErr());
        throw new CliException(CliException.INVALID_INPUT, "septum: name a command (see 'septum --help')");
    }

    /** The client for {@code --socket}, made once per run. */
    public synchronized AgentClient client() {
        if (client == null) client = new AgentClient(socket);
        return client;
    }

    public Path socket() {
        return socket;
    }

    /** {@code -o} as given, for commands with formats of their own ({@code observe -o compact}). */
    public String outputText() {
        return output;
    }

    public Output.Format format() {
        return Output.Format.parse(output);
    }

    public Output output() {
        return new Output(out(), format(), client().mapper());
    }

    public PrintWriter out() {
        return spec.commandLine().getOut();
    }

    public PrintWriter err() {
        return spec.commandLine().getErr();
    }

    /** Standard input ({@code policy import -}); tests replace it. */
    public InputStream in() {
        return in;
    }

    public SeptumCli withInput(InputStream input) {
        this.in = input;
        return this;
    }

    /** Prints why a command failed and returns the exit status it means. */
    static int report(Exception ex, PrintWriter err) {
        int code;
        if (ex instanceof CliException c) {
            err.println(c.getMessage().startsWith("septum:") ? c.getMessage() : "septum: " + c.getMessage());
            code = c.exitCode();
        } else if (ex instanceof AgentException a) {
            if (!a.errors().isEmpty()) {
                for (ValidationError v : a.errors()) err.println(v.message());
                code = CliException.INVALID_INPUT;
            } else {
                err.println("septum: " + a.getMessage());
                code = a.status() == 400 ? CliException.INVALID_INPUT : 1;
            }
        } else {
            err.println("septum: internal error: " + ex);
            if (System.getenv("SEPTUM_DEBUG") != null) ex.printStackTrace(err);
            code = 1;
        }
        err.flush();
        return code;
    }

    /** {@code --version}: the build's version, from the jar manifest when there is one. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = SeptumCli.class.getPackage().getImplementationVersion();
            return new String[] {"septum " + (v == null ? "0.1.0-SNAPSHOT" : v)};
        }
    }
}
