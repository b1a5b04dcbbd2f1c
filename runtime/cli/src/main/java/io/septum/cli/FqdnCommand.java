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

    /** What both commands share: {@code --name}, and the cache's path with it. */
    abstract static class CacheCmd extends AgentCommand {
        @Option(names = "--name", paramLabel = "NAME", description = "Only this name (trailing dot optional).")
        String name;

        /** The FQDN cache, narrowed to {@code --name} when given. */
        final String path() {
            return "/v1/fqdn/cache" + (name == null || name.isBlank() ? "" : "?name=" + AgentClient.segment(name));
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = "List each name's addresses, the TTL they are held for and when they expire.")
    static final class ListCmd extends CacheCmd {
        @Override
        public Integer call() {
            return list(path(), FqdnEntry.class, Views::fqdnCache);
        }
    }

    @Command(name = "clean", mixinStandardHelpOptions = true,
            description = "Forget names and their addresses: every one, or --name's. toFQDNs rules stop allowing those"
                    + " addresses at once, until a lookup teaches them again.")
    static final class CleanCmd extends CacheCmd {
        @Override
        public Integer call() {
            SeptumCli cli = cli();
            Map<?, ?> r = cli.client().delete(path(), Map.class);
            Object removed = r == null ? 0 : r.get("removed");
            cli.output().result(r == null ? Map.of("removed", 0) : r, () -> "removed " + removed + " address(es)"
                    + (name == null ? "" : " of " + name));
            return 0;
        }
    }
}
