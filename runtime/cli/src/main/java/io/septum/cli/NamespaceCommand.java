package io.septum.cli;

import com.fasterxml.jackson.core.type.TypeReference;
import io.septum.view.Views;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "namespace", mixinStandardHelpOptions = true, synopsisSubcommandLabel = "COMMAND",
        description = "Show and set namespace labels (what namespaceSelector matches).",
        subcommands = {NamespaceCommand.ListCmd.class, NamespaceCommand.SetCmd.class})
final class NamespaceCommand {

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List namespaces with their labels.")
    static final class ListCmd extends AgentCommand {
        @Override
        public Integer call() {
            SeptumCli cli = cli();
            Map<String, Map<String, String>> all = cli.client().get("/v1/namespaces",
                    new TypeReference<Map<String, Map<String, String>>>() { });
            Map<String, Map<String, String>> ns = all == null ? Map.of() : all;
            return print(cli, ns, Views::namespaces);
        }
    }

    @Command(name = "set", mixinStandardHelpOptions = true,
            description = "Set a namespace's labels (replacing its old ones; none removes them).")
    static final class SetCmd extends AgentCommand {
        @Parameters(index = "0", paramLabel = "NAMESPACE", description = "The namespace.")
        String namespace;

        @Parameters(index = "1..*", paramLabel = "KEY=VALUE", description = "Its labels.")
        List<String> labels = List.of();

        @Override
        public Integer call() {
            SeptumCli cli = cli();
            Map<String, String> map = new LinkedHashMap<>();
            for (String l : labels) {
                int eq = l.indexOf('=');
                if (eq <= 0) throw new CliException(CliException.INVALID_INPUT, "label \"" + l + "\" is not KEY=VALUE");
                map.put(l.substring(0, eq), l.substring(eq + 1));
            }
            cli.client().put("/v1/namespaces/" + AgentClient.segment(namespace), map);
            cli.output().result(Map.of(namespace, map),
                    () -> "Namespace " + namespace + (map.isEmpty() ? ": labels removed" : ": " + map.size() + " label(s) set"));
            return 0;
        }
    }
}
