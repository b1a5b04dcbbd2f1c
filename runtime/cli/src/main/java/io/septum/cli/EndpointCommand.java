package io.septum.cli;

import io.septum.api.Endpoint;
import io.septum.api.EndpointSpec;
import io.septum.api.NamedPort;
import io.septum.api.RemoteEndpoint;
import io.septum.view.Views;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "endpoint", mixinStandardHelpOptions = true, synopsisSubcommandLabel = "COMMAND",
        description = "List, show, add and delete endpoints.",
        subcommands = {EndpointCommand.ListCmd.class, EndpointCommand.GetCmd.class, EndpointCommand.AddCmd.class,
                EndpointCommand.DeleteCmd.class, EndpointCommand.ConfigCmd.class})
final class EndpointCommand {

    static String path(String idOrName) {
        return "/v1/endpoints/" + AgentClient.segment(idOrName);
    }

    /**
     * The base of the commands on one endpoint ({@code endpoint get}, {@code delete}, {@code config} and
     * {@code bpf policy get}): its ENDPOINT argument, the first one.
     */
    abstract static class OneEndpointCmd extends AgentCommand {
        @Parameters(index = "0", paramLabel = "ENDPOINT", description = "Endpoint id, namespace/name, or a unique name.")
        String endpoint;
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List every endpoint with its identity, labels and state.")
    static final class ListCmd extends AgentCommand {
        @Option(names = "--remote", description = "In cluster mode: the other nodes' endpoints that this"
                + " node knows (its ipcache entries with source kvstore:<node>): address, identity, node, name."
                + " Empty when standalone.")
        boolean remote;

        @Override
        public Integer call() {
            if (remote) return list("/v1/cluster/endpoints", RemoteEndpoint.class, Views::remoteEndpoints);
            return list("/v1/endpoints", Endpoint.class, Views::endpoints);
        }
    }

    @Command(name = "get", mixinStandardHelpOptions = true, description = "Show one endpoint in full.")
    static final class GetCmd extends OneEndpointCmd {
        @Override
        public Integer call() {
            return show(path(endpoint), Endpoint.class, Views::endpoint);
        }
    }

    @Command(name = "add", mixinStandardHelpOptions = true,
            description = "Ask an endpoint source (netns by default) to manage a network namespace as an endpoint.")
    static final class AddCmd extends AgentCommand {
        @Option(names = "--name", required = true, description = "The endpoint's name.")
        String name;

        @Option(names = "--namespace", description = "Its namespace (default: the agent's default, 'default').")
        String namespace;

        @Option(names = "--netns", required = true, description = "Network namespace name or path (e.g. web or /run/netns/web).")
        String netns;

        @Option(names = "--interface", paramLabel = "VETH", description = "Host-side interface (default: found from the namespace's veth peer).")
        String interfaceName;

        @Option(names = "--label", paramLabel = "KEY=VALUE", description = "A label, without a source (the source adds its own). Repeatable.")
        Map<String, String> labels = new LinkedHashMap<>();

        @Option(names = "--address", paramLabel = "IP", description = "An address of the endpoint (default: found in the namespace). Repeatable.")
        List<String> addresses = List.of();

        @Option(names = "--port", paramLabel = "NAME=PORT[/PROTOCOL]",
                description = "A named port, which policies may name (http=8080, dns=53/udp). Repeatable.")
        List<String> ports = List.of();

        @Option(names = "--source", defaultValue = "netns", description = "The endpoint source to ask (default: ${DEFAULT-VALUE}).")
        String source;

        @Option(names = "--source-id", description = "The source's key for the endpoint (default: namespace/name).")
        String sourceId;

        @Override
        public Integer call() {
            SeptumCli cli = cli();
            for (String k : labels.keySet()) {
                if (k.contains(":")) {
                    throw new CliException(CliException.INVALID_INPUT, "label \"" + k + "\" names a source; give key=value"
                            + " only (the " + source + " source adds \"" + source + ":\")");
                }
            }
            // namespace/name is how the netns source keys endpoints, whichever way they were declared
            String id = sourceId != null ? sourceId : (namespace == null ? "default" : namespace) + "/" + name;
            List<NamedPort> named = new java.util.ArrayList<>();
            for (String p : ports) {
                int eq = p.indexOf('=');
                try {
                    if (eq <= 0) throw new IllegalArgumentException("expected NAME=PORT[/PROTOCOL], such as http=8080");
                    named.add(NamedPort.parse(p.substring(0, eq), p.substring(eq + 1)));
                } catch (IllegalArgumentException e) {
                    throw new CliException(CliException.INVALID_INPUT, "--port " + p + ": " + e.getMessage());
                }
            }
            EndpointSpec s = new EndpointSpec(id, name, namespace, labels,
                    interfaceName, netns, addresses, null, Map.of("netns", netns), named);
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("source", source);
            body.put("spec", s);
            Endpoint e = cli.client().post("/v1/endpoints", body, Endpoint.class);
            String qn = (namespace == null ? "default" : namespace) + "/" + name;
            cli.output().result(e != null ? e : s, () -> e != null
                    ? "Endpoint " + e.qualifiedName() + " added (id " + e.id() + ", " + e.state() + ")"
                    : "Endpoint " + qn + " requested from source " + source + "; see 'septum endpoint get " + qn + "'");
            return 0;
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true, description = "Ask the endpoint's source to delete it.")
    static final class DeleteCmd extends OneEndpointCmd {
        @Override
        public Integer call() {
            return deleted(path(endpoint), "Endpoint", endpoint);
        }
    }

    @Command(name = "config", mixinStandardHelpOptions = true,
            description = {"Set an endpoint's options (persisted by the agent).",
                    "audit=on: would-be drops of this endpoint pass and are reported as AUDIT flows; audit=off: enforce."})
    static final class ConfigCmd extends OneEndpointCmd {
        @Parameters(index = "1", paramLabel = "OPTION=VALUE", description = "audit=on|off")
        String option;

        @Override
        public Integer call() {
            SeptumCli cli = cli();
            String o = option.trim();
            boolean audit;
            if (o.equals("audit=on") || o.equals("audit=true")) audit = true;
            else if (o.equals("audit=off") || o.equals("audit=false")) audit = false;
            else throw new CliException(CliException.INVALID_INPUT, "unknown option \"" + option + "\" (expected audit=on or audit=off)");
            Endpoint e = cli.client().put(path(endpoint) + "/config", Map.of("audit", audit), Endpoint.class);
            cli.output().result(e, () -> "Endpoint " + e.id() + " (" + e.qualifiedName() + "): audit " + (e.audit() ? "on" : "off"));
            return 0;
        }
    }
}
