package io.septum.runtime;

import java.util.Arrays;

/**
 * The agent's entry point: {@code bin/septum agent [options]} runs this class (every other {@code septum} command
 * runs the CLI, {@code io.septum.cli.SeptumCli}, which this module knows nothing of). A leading {@code agent} is
 * accepted and dropped, so that the agent's command line reads as the operator typed it. The agent's process is
 * recognised by this package's name on its command line ({@link Launcher#refuseSecondAgent}).
 */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) throws Exception {
        String[] options = args.length > 0 && "agent".equals(args[0]) ? Arrays.copyOfRange(args, 1, args.length) : args;
        System.exit(Launcher.run(options));
    }
}
