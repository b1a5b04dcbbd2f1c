package io.septum.cli;

import io.septum.api.IpcacheEntry;
import io.septum.api.datapath.BpfEndpoint;
import io.septum.api.datapath.BpfPolicyEntry;
import io.septum.view.Views;
import picocli.CommandLine.Command;

@Command(name = "bpf", mixinStandardHelpOptions = true, synopsisSubcommandLabel = "COMMAND",
        description = "Show what the kernel enforces: the datapath's BPF maps.",
        subcommands = {BpfCommand.EndpointCmd.class, BpfCommand.PolicyCmd.class, BpfCommand.IpcacheCmd.class})
final class BpfCommand {

    @Command(name = "endpoint", mixinStandardHelpOptions = true, synopsisSubcommandLabel = "COMMAND",
            description = "The endpoints map.", subcommands = EndpointCmd.ListCmd.class)
    static final class EndpointCmd {
        @Command(name = "list", mixinStandardHelpOptions = true, description = "List the endpoints map: interface, endpoint, identity, flags.")
        static final class ListCmd extends AgentCommand.ListCommand<BpfEndpoint> {
            ListCmd() {
                super("/v1/bpf/endpoints", BpfEndpoint.class, Views::bpfEndpoints);
            }
        }
    }

    @Command(name = "policy", mixinStandardHelpOptions = true, synopsisSubcommandLabel = "COMMAND",
            description = "The policy map.", subcommands = PolicyCmd.GetCmd.class)
    static final class PolicyCmd {
        @Command(name = "get", mixinStandardHelpOptions = true, description = "List an endpoint's policy map entries with their packet counts.")
        static final class GetCmd extends EndpointCommand.OneEndpointCmd {
            @Override
            public Integer call() {
                return list("/v1/bpf/policy/" + AgentClient.segment(endpoint), BpfPolicyEntry.class, Views::bpfPolicy);
            }
        }
    }

    @Command(name = "ipcache", mixinStandardHelpOptions = true, synopsisSubcommandLabel = "COMMAND",
            description = "The ipcache map.", subcommands = IpcacheCmd.ListCmd.class)
    static final class IpcacheCmd {
        @Command(name = "list", mixinStandardHelpOptions = true, description = "List the ipcache map: IP prefix to identity.")
        static final class ListCmd extends AgentCommand.ListCommand<IpcacheEntry> {
            ListCmd() {
                super("/v1/bpf/ipcache", IpcacheEntry.class, Views::ipcache);
            }
        }
    }
}
