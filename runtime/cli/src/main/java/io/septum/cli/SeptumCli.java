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
        synopsisSubcommandLabel = "COMMAND")
public final class SeptumCli implements Runnable {
    /**
     * This module's commands, in the order help lists them. They are added to the tree by {@link #commandLine}, not
     * declared on the annotation, so that a run builds the model of the one command it runs: picocli builds a
     * command's model by reflection, and the whole tree costs a quarter of a second of a CLI command's start.
     */
    private static final List<Class<?>> COMMANDS = List.of(
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
            ShellCommand.class);

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
        SeptumCli root = new SeptumCli();
        try {
            return commandLine(root, out, err, only(args)).execute(args);
        } finally {
            root.close();
        }
    }

    /** The full command tree around {@code root}, printing to {@code out} and {@code err}. */
    public static CommandLine commandLine(SeptumCli root, PrintWriter out, PrintWriter err) {
        return commandLine(root, out, err, null);
    }

    /**
     * The tree around {@code root} with only the top-level command named {@code only} when that names one (and is
     * not {@code help}, which needs them all); with every command otherwise, so that help lists them all and an
     * unknown name gets picocli's suggestions.
     */
    static CommandLine commandLine(SeptumCli root, PrintWriter out, PrintWriter err, String only) {
        CommandLine cl = new CommandLine(root);
        if (NO_COMMAND.equals(only)) return configured(cl, out, err);
        List<Object> commands = new ArrayList<>(COMMANDS);
        List<SeptumCommand> contributed = new ArrayList<>();
        ServiceLoader.load(SeptumCommand.class, SeptumCli.class.getClassLoader()).forEach(contributed::add);
        contributed.sort(Comparator.comparing(c -> names(c.getClass()).stream().findFirst().orElse(c.getClass().getName())));
        commands.addAll(contributed);
        boolean one = only != null && !"help".equals(only)
                && commands.stream().anyMatch(c -> names(type(c)).contains(only));
        for (Object c : commands) {
            if (!one || names(type(c)).contains(only)) cl.addSubcommand(c);
        }
        return configured(cl, out, err);
    }

    private static CommandLine configured(CommandLine cl, PrintWriter out, PrintWriter err) {
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> report(ex, cmd.getErr()));
        return cl;
    }

    /** {@link #commandLine} with this builds the root alone (for {@code --version}). */
    static final String NO_COMMAND = "";

    /** What {@link #commandLine} builds for this line: the root alone for the version, else {@link #commandName}. */
    static String only(String[] args) {
        return versionOnly(args) ? NO_COMMAND : commandName(args);
    }

    /** Whether the line asks for the version before naming any command: the root alone answers it. */
    static boolean versionOnly(String[] args) {
        String w = firstWord(args);
        return "-V".equals(w) || "--version".equals(w);
    }

    /**
     * The first word of {@code args} that is not one of the root's options or their values: the top-level command
     * the line runs; null when there is none or an option the root does not know comes first (help, version).
     */
    static String commandName(String[] args) {
        String w = firstWord(args);
        return w == null || w.startsWith("-") ? null : w;
    }

    /** The first word that is not {@code --socket}, {@code -o}/{@code --output} or their value; null when none. */
    private static String firstWord(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--socket") || a.equals("-o") || a.equals("--output")) {
                i++;
            } else if (!(a.startsWith("--socket=") || a.startsWith("--output=") || (a.startsWith("-o") && !a.startsWith("--")))) {
                return a;
            }
        }
        return null;
    }

    private static Class<?> type(Object command) {
        return command instanceof Class<?> c ? c : command.getClass();
    }

    /** A command class's name and aliases, from its annotation; none when the class itself has none (then only the whole tree holds it). */
    private static List<String> names(Class<?> type) {
        Command c = type.getAnnotation(Command.class);
        if (c == null) return List.of();
        List<String> names = new ArrayList<>(List.of(c.name()));
        names.addAll(List.of(c.aliases()));
        return names;
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

    /** Closes the client, if this run made one. */
    public synchronized void close() {
        if (client != null) client.close();
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
