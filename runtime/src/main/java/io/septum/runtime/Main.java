package io.septum.runtime;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.Arrays;

/** The entry point of {@code bin/septum}: {@code septum agent ...} runs the agent, everything else is the CLI. */
public final class Main {
    static final String CLI_CLASS = "io.septum.cli.SeptumCli";

    private Main() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && "agent".equals(args[0])) {
            System.exit(Launcher.run(Arrays.copyOfRange(args, 1, args.length)));
        }
        runCli(args);
    }

    /**
     * The CLI is written in its own package and may be built after this class, so it is looked up by name: a
     * launcher jar without it still runs the agent.
     */
    static void runCli(String[] args) throws Exception {
        Method main;
        try {
            main = Class.forName(CLI_CLASS).getMethod("main", String[].class);
        } catch (ClassNotFoundException | NoSuchMethodException e) {
            System.err.println("septum: the command line interface (" + CLI_CLASS + ") is not in this build; "
                    + "only \"septum agent\" is available");
            System.exit(2);
            return;
        }
        try {
            main.invoke(null, (Object) args);
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            if (cause instanceof Exception ex) throw ex;
            if (cause instanceof Error err) throw err;
            throw e;
        }
    }
}
