package io.septum.cli;

import io.septum.api.ClusterNode;
import io.septum.view.Views;
import picocli.CommandLine.Command;

@Command(name = "node", mixinStandardHelpOptions = true, synopsisSubcommandLabel = "COMMAND",
        description = "The nodes of the cluster (cluster mode).",
        subcommands = {NodeCommand.ListCmd.class})
final class NodeCommand {

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = {"Every registered node: state, age of its last heartbeat (lease renewal), addresses, the",
                    "endpoint CIDRs it owns, how many of its addresses this node accepted, agent version, start time.",
                    "Empty on a standalone node."})
    static final class ListCmd extends AgentCommand.ListCommand<ClusterNode> {
        ListCmd() {
            super("/v1/cluster/nodes", ClusterNode.class, Views::nodes);
        }
    }
}
