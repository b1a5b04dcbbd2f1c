package io.septum.cli;

import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** One CLI run with captured output. */
record CliRun(int code, String out, String err) {
    static CliRun run(String... args) {
        return runWithInput("", args);
    }

    /** One run with {@code --socket socket} before {@code args}: the CLI against a test's API server. */
    static CliRun at(Path socket, String... args) {
        String[] all = new String[args.length + 2];
        all[0] = "--socket";
        all[1] = socket.toString();
        System.arraycopy(args, 0, all, 2, args.length);
        return run(all);
    }

    static CliRun runWithInput(String stdin, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        SeptumCli root = new SeptumCli().withInput(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
        // the tree main() builds: the one command the line names
        int code;
        try {
            code = SeptumCli.commandLine(root, new PrintWriter(out, true), new PrintWriter(err, true),
                    SeptumCli.only(args)).execute(args);
        } finally {
            root.close();
        }
        return new CliRun(code, out.toString(), err.toString());
    }

    @Override
    public String toString() {
        return "exit " + code + "\n--- stdout\n" + out + "--- stderr\n" + err;
    }
}
