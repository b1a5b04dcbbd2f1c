package io.septum.cli;

import io.septum.api.ui.UiLoginLink;
import java.util.Map;
import picocli.CommandLine.Command;

@Command(name = "ui", mixinStandardHelpOptions = true, synopsisSubcommandLabel = "COMMAND",
        description = "The web UI (enabled=true in etc/io.septum.webui.cfg).",
        subcommands = {UiCommand.Login.class})
final class UiCommand {

    @Command(name = "login", mixinStandardHelpOptions = true,
            description = {"Print a one-time link that signs a browser on this host in to the web UI, as you: with it",
                    "the UI can apply drafts (in audit mode or enforcing), stage, promote and roll back policy, and",
                    "probe from inside an endpoint; the policy history names you (\"web UI (uid N (USER))\"). The link",
                    "works once, within 5 minutes. Needs root or the admin group, like every change. Viewing the UI",
                    "needs no login."})
    static final class Login extends AgentCommand {
        @Override
        public Integer call() {
            SeptumCli cli = cli();
            UiLoginLink link = cli.client().post("/v1/ui/login", Map.of(), UiLoginLink.class);
            cli.output().result(link, () -> "Open this link in a browser on this host (it works once, until "
                    + link.expires() + "):\n  " + link.url());
            return 0;
        }
    }
}
