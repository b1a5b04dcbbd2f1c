package io.septum.cli;

import io.septum.api.ClusterStatus;
import io.septum.view.Views;
import picocli.CommandLine.Command;

@Command(name = "cluster", mixinStandardHelpOptions = true, synopsisSubcommandLabel = "COMMAND",
        description = "Cluster mode (etcd): see docs/cluster.md.",
        subcommands = {ClusterCommand.StatusCmd.class})
final class ClusterCommand {

    @Command(name = "status", mixinStandardHelpOptions = true,
            description = {"This node's view of the cluster: mode, etcd reachability, version and leader, this node's lease,",
                    "the last revision its watches applied and how far the store is ahead (the sync lag), and the",
                    "other nodes' addresses in its ipcache. A standalone node says so."})
    static final class StatusCmd extends AgentCommand {
        @Override
        public Integer call() {
            return show("/v1/cluster", ClusterStatus.class, Views::clusterStatus);
        }
    }
}
