package io.septum.cli;

import io.septum.api.fqdn.FqdnEntry;
import io.septum.view.Views;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "fqdn", mixinStandardHelpOptions = true, synopsisSubcommandLabel = "COMMAND",
        description = "The DNS names the DNS proxy saw answered, whose addresses toFQDNs rules allow.",
        subcommands = {FqdnCommand.Cache.class})
final class FqdnCommand {

    @Command(name = "cache", mixinStandardHelpOptions = true, synopsisSubcommandLabel = "COMMAND",
            description = "List or clean the FQDN cache.",
            subcommands = {FqdnCommand.ListCmd.class, FqdnCommand.CleanCmd.class})
    static final class Cache {
    }

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = "List each name's addresses, the TTL they are held for and when they expire.")
    static final class ListCmd extends AgentCommand {
        @Option(names = "--name", paramLabel = "NAME", description = "Only this name (trailing dot optional).")
        String name;

        @Override
        public Integer call() {
            return list("/v1/fqdn/cache" + query(name), FqdnEntry.class, Views::fqdnCache);
        }
    }

    @Command(name = "clean", mixinStandardHelpOptions = true,
            description = "Forget names and their addresses: every one, or --name's. toFQDNs rules stop allowing those"
                    + " addresses at once, until a lookup teaches them again.")
    static final class CleanCmd extends AgentCommand {
        @Option(names = "--name", paramLabel = "NAME", description = "Only this name (trailing dot optional).")
        String name;

        @Override
        public Integer call() {
            SeptumCli cli = cli();
            Map<?, ?> r = cli.client().delete("/v1/fqdn/cache" + query(name), Map.class);
            Object removed = r == null ? 0 : r.get("removed");
            cli.output().result(r == null ? Map.of("removed", 0) : r, () -> "removed " + removed + " address(es)"
                    + (name == null ? "" : " of " + name));
            return 0;
        }
    }

    private static String query(String name) {
        return name == null || name.isBlank() ? "" : "?name=" + AgentClient.segment(name);
    }
}
