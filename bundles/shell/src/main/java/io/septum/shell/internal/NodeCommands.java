package io.septum.shell.internal;

import io.septum.api.ClusterInfo;
import io.septum.api.ClusterNode;
import io.septum.view.Views;
import java.util.List;
import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/** {@code node:list}, printing the same table as {@code septum node list}; empty on a standalone agent. */
@Component(service = NodeCommands.class)
@GogoCommand(scope = "node", function = {"list"})
public final class NodeCommands extends ShellSupport {
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    volatile ClusterInfo cluster;

    @Descriptor("The cluster's nodes: state, last heartbeat, addresses, endpoint CIDRs, accepted endpoints, version")
    public void list(@Descriptor(OUTPUT_DESCRIPTION) @Parameter(names = {"-o", "--output"}, absentValue = "table") String output) {
        ClusterInfo c = cluster;
        print(output, c == null ? List.<ClusterNode>of() : c.nodes(), Views::nodes);
    }
}
