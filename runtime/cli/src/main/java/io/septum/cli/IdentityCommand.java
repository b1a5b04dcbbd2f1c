package io.septum.cli;

import io.septum.api.Identity;
import io.septum.view.Views;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "identity", mixinStandardHelpOptions = true, synopsisSubcommandLabel = "COMMAND",
        description = "List and show security identities (label sets and their numbers).",
        subcommands = {IdentityCommand.ListCmd.class, IdentityCommand.GetCmd.class})
final class IdentityCommand {

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List every identity, reserved ones included.")
    static final class ListCmd extends AgentCommand.ListCommand<Identity> {
        ListCmd() {
            super("/v1/identities", Identity.class, Views::identities);
        }
    }

    @Command(name = "get", mixinStandardHelpOptions = true, description = "Show one identity and its labels.")
    static final class GetCmd extends AgentCommand {
        @Parameters(paramLabel = "ID", description = "The identity's number.")
        long id;

        @Override
        public Integer call() {
            return show("/v1/identities/" + id, Identity.class, i -> Views.identities(List.of(i)));
        }
    }
}
