package io.septum.cli;

import io.septum.api.service.Service;
import io.septum.api.service.ServiceSpec;
import io.septum.view.Views;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "service", mixinStandardHelpOptions = true, synopsisSubcommandLabel = "COMMAND",
        description = "ClusterIP services: a virtual IP:port load-balanced in the datapath over endpoints or IPs.",
        subcommands = {ServiceCommand.ListCmd.class, ServiceCommand.GetCmd.class, ServiceCommand.AddCmd.class,
                ServiceCommand.DeleteCmd.class})
final class ServiceCommand {

    static String path(String idOrName) {
        return "/v1/services/" + AgentClient.segment(idOrName);
    }

    /** One service, in the table of {@code service list}. */
    static Object view(Service s) {
        return Views.services(List.of(s));
    }

    /** The base of {@code service get} and {@code service delete}: one service, named by the SERVICE argument. */
    abstract static class OneServiceCmd extends AgentCommand {
        @Parameters(paramLabel = "SERVICE", description = "Service id, namespace/name, or a name in namespace default.")
        String service;
    }

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = "List services: ID, frontend, type and backends (one per line), as 'cilium service list'.")
    static final class ListCmd extends AgentCommand.ListCommand<Service> {
        ListCmd() {
            super("/v1/services", Service.class, Views::services);
        }
    }

    @Command(name = "get", mixinStandardHelpOptions = true, description = "Show one service.")
    static final class GetCmd extends OneServiceCmd {
        @Override
        public Integer call() {
            return show(path(service), Service.class, ServiceCommand::view);
        }
    }

    @Command(name = "add", mixinStandardHelpOptions = true,
            description = {"Add a service, or replace the one with that namespace and name (it keeps its id).",
                    "Endpoints given as backends are followed: one that leaves is taken out, and comes back with its endpoint.",
                    "Network-namespace endpoints resolve NAME.NAMESPACE.svc.cluster.local (and NAME in the same namespace).",
                    "Example: septum service add deathstar --frontend 10.197.0.10:80 --backend deathstar-1 --backend deathstar-2"})
    static final class AddCmd extends AgentCommand {
        @Parameters(index = "0", paramLabel = "NAME", description = "The service's name (a DNS label).")
        String name;

        @Option(names = "--namespace", description = "Its namespace (default: default); bare endpoint names are looked up there.")
        String namespace;

        @Option(names = "--frontend", required = true, paramLabel = "IP:PORT[/tcp|udp]", description = "The virtual IPv4 address and port.")
        String frontend;

        @Option(names = "--backend", paramLabel = "EP_OR_IP[:PORT]",
                description = "A backend: endpoint name, namespace/name or IPv4 address, with an optional port (default: the frontend's). "
                        + "Repeatable or comma-separated; none makes a service that refuses connections.")
        List<String> backends = new ArrayList<>();

        @Override
        public Integer call() {
            SeptumCli cli = cli();
            List<String> list = new ArrayList<>();
            for (String b : backends) for (String part : b.split(",")) if (!part.isBlank()) list.add(part.trim());
            return print(cli, cli.client().post("/v1/services", new ServiceSpec(name, namespace, frontend, list), Service.class),
                    ServiceCommand::view);
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true, description = "Delete a service.")
    static final class DeleteCmd extends OneServiceCmd {
        @Override
        public Integer call() {
            return deleted(path(service), "Service", service);
        }
    }
}
