package io.septum.cli;

import io.septum.api.AgentStatus;
import io.septum.view.Views;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Show the agent's health: readiness, start-to-ready time, components, endpoint sources.")
final class StatusCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        SeptumCli cli = SeptumCli.of(spec);
        AgentStatus s = cli.client().get("/v1/status", AgentStatus.class);
        cli.output().print(s, () -> Views.status(s));
        return s.ready() ? 0 : 1;
    }
}
