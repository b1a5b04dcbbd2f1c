package io.septum.cli;

import io.septum.api.Identity;
import io.septum.view.Views;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "identity", mixinStandardHelpOptions = true, synopsisSubcommandLabel = "COMMAND",
        description = "List and show security identities (label sets and their numbers).",
        subcommands = {IdentityCommand.ListCmd.class, IdentityCommand.GetCmd.class})
final class IdentityCommand {

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List every identity, reserved ones included.")
    static final class ListCmd implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            SeptumCli cli = SeptumCli.of(spec);
            List<Identity> list = cli.client().list("/v1/identities", Identity.class);
            cli.output().print(list, () -> Views.identities(list));
            return 0;
        }
    }

    @Command(name = "get", mixinStandardHelpOptions = true, description = "Show one identity and its labels.")
    static final class GetCmd implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "ID", description = "The identity's number.")
        long id;

        @Override
        public Integer call() {
            SeptumCli cli = SeptumCli.of(spec);
            Identity i = cli.client().get("/v1/identities/" + id, Identity.class);
            cli.output().print(i, () -> Views.identities(List.of(i)));
            return 0;
        }
    }
}
