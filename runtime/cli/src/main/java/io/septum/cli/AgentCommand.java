package io.septum.cli;

import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Function;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * The base of the commands that talk to the agent: the picocli spec that leads to the run's {@link SeptumCli}
 * (client and output), and the shape most {@code septum <noun> <verb>} commands share, read a model from the
 * agent's REST API and print it with its view from {@code io.septum.view} ({@code -o json} prints the model
 * itself). A subclass declares its picocli options and, in {@link #call()}, names the path, the model type and the
 * view. The agent is asked before the output format is checked, as the commands always did, so an unreachable
 * agent is the error a user sees first.
 */
abstract class AgentCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    /** The root of this run: the client for {@code --socket} and the output for {@code -o}. */
    final SeptumCli cli() {
        return SeptumCli.of(spec);
    }

    /** Lists {@code path} as {@code type}, prints it with {@code view}; exit status 0. */
    final <T> int list(String path, Class<T> type, Function<List<T>, ?> view) {
        SeptumCli cli = cli();
        return print(cli, cli.client().list(path, type), view);
    }

    /** Reads the one object at {@code path} as {@code type}, prints it with {@code view}; exit status 0. */
    final <T> int show(String path, Class<T> type, Function<? super T, ?> view) {
        SeptumCli cli = cli();
        return print(cli, cli.client().get(path, type), view);
    }

    /**
     * Deletes {@code path}; says "{@code noun} {@code name} deleted", or prints {@code {"deleted": name}} with
     * {@code -o json}. Exit status 0.
     */
    final int deleted(String path, String noun, String name) {
        SeptumCli cli = cli();
        cli.client().delete(path);
        cli.output().result(Map.of("deleted", name), () -> noun + " " + name + " deleted");
        return 0;
    }

    /** Prints {@code model} with {@code view} (or as JSON); exit status 0. */
    static <T> int print(SeptumCli cli, T model, Function<? super T, ?> view) {
        cli.output().print(model, () -> view.apply(model));
        return 0;
    }

    /**
     * A command that lists one REST collection and nothing else: subclasses only pass the path, the model type
     * and the view to the constructor.
     */
    abstract static class ListCommand<T> extends AgentCommand {
        private final String path;
        private final Class<T> type;
        private final Function<List<T>, ?> view;

        ListCommand(String path, Class<T> type, Function<List<T>, ?> view) {
            this.path = path;
            this.type = type;
            this.view = view;
        }

        @Override
        public Integer call() {
            return list(path, type, view);
        }
    }
}
