package io.septum.shell.internal;

import io.septum.api.ClusterInfo;
import io.septum.api.ClusterStatus;
import io.septum.view.Views;
import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/** {@code cluster:status}, printing what {@code septum cluster status} prints; a standalone agent says so. */
@Component(service = ClusterCommands.class)
@GogoCommand(scope = "cluster", function = {"status"})
public final class ClusterCommands extends ShellSupport {
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    volatile ClusterInfo cluster;

    @Descriptor("Cluster mode: etcd reachability and leader, this node's lease, sync revision and lag")
    public void status(@Descriptor(OUTPUT_DESCRIPTION) @Parameter(names = {"-o", "--output"}, absentValue = "table") String output) {
        ClusterInfo c = cluster;
        print(output, c == null ? ClusterStatus.standalone() : c.status(), Views::clusterStatus);
    }
}
