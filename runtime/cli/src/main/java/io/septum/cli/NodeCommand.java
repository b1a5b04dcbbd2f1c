package io.septum.cli;

import io.septum.api.ClusterNode;
import io.septum.view.Views;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

@Command(name = "node", mixinStandardHelpOptions = true, synopsisSubcommandLabel = "COMMAND",
        description = "The nodes of the cluster (cluster mode).",
        subcommands = {NodeCommand.ListCmd.class})
final class NodeCommand {

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = {"Every registered node: state, age of its last heartbeat (lease renewal), addresses, the",
                    "endpoint CIDRs it owns, how many of its addresses this node accepted, agent version, start time.",
                    "Empty on a standalone node."})
    static final class ListCmd implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            SeptumCli cli = SeptumCli.of(spec);
            List<ClusterNode> nodes = cli.client().list("/v1/cluster/nodes", ClusterNode.class);
            cli.output().print(nodes, () -> Views.nodes(nodes));
            return 0;
        }
    }
}
