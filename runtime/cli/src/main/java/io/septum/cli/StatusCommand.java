package io.septum.cli;

import io.septum.api.AgentStatus;
import io.septum.view.Views;
import picocli.CommandLine.Command;

@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Show the agent's health: readiness, start-to-ready time, components, endpoint sources.")
final class StatusCommand extends AgentCommand {
    @Override
    public Integer call() {
        SeptumCli cli = cli();
        AgentStatus s = cli.client().get("/v1/status", AgentStatus.class);
        print(cli, s, Views::status);
        return s.ready() ? 0 : 1;
    }
}
