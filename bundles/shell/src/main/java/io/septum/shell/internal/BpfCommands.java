package io.septum.shell.internal;

import io.septum.api.Endpoint;
import io.septum.api.EndpointManager;
import io.septum.api.datapath.Datapath;
import io.septum.view.Table;
import io.septum.view.Views;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/** {@code bpf:endpoint list}, {@code bpf:policy get ENDPOINT}, {@code bpf:ipcache list}: the datapath's maps. */
@Component(service = BpfCommands.class)
@GogoCommand(scope = "bpf", function = {"endpoint", "policy", "ipcache"})
public final class BpfCommands extends ShellSupport {
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    volatile Datapath datapath;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    volatile EndpointManager endpoints;

    private Datapath dp() {
        return need(datapath, "the datapath");
    }

    @Descriptor("The endpoints map: bpf:endpoint list")
    public void endpoint(
            @Descriptor(OUTPUT_DESCRIPTION) @Parameter(names = {"-o", "--output"}, absentValue = "table") String output,
            @Descriptor("list") String verb) {
        list(output, verb, "endpoint", () -> dp().endpoints(), Views::bpfEndpoints);
    }

    @Descriptor("An endpoint's policy map entries with their packet counts: bpf:policy get ENDPOINT")
    public void policy(
            @Descriptor(OUTPUT_DESCRIPTION) @Parameter(names = {"-o", "--output"}, absentValue = "table") String output,
            @Descriptor("get") String verb,
            @Descriptor("endpoint id, namespace/name, or a unique name") String endpoint) {
        verb(verb, "get", "bpf:policy get ENDPOINT");
        Optional<Endpoint> e = endpoints == null ? Optional.empty() : endpoints.get(endpoint);
        long id;
        if (e.isPresent()) {
            id = e.get().id();
        } else {
            try {
                id = Long.parseLong(endpoint);
            } catch (NumberFormatException x) {
                throw new ShellException("no endpoint \"" + endpoint + "\" (see endpoint:list)");
            }
        }
        print(output, dp().policy(id), Views::bpfPolicy);
    }

    @Descriptor("The ipcache map, IP prefix to identity: bpf:ipcache list")
    public void ipcache(
            @Descriptor(OUTPUT_DESCRIPTION) @Parameter(names = {"-o", "--output"}, absentValue = "table") String output,
            @Descriptor("list") String verb) {
        list(output, verb, "ipcache", () -> dp().ipcache(), Views::ipcache);
    }

    /** {@code bpf:MAP list}: the map read once, printed as its table or as JSON. */
    private <T> void list(String output, String verb, String map, Supplier<List<T>> read, Function<List<T>, Table> view) {
        verb(verb, "list", "bpf:" + map + " list");
        print(output, read.get(), view);
    }

    private static void verb(String given, String expected, String usage) {
        if (!expected.equals(given)) throw new ShellException("unknown verb \"" + given + "\" (usage: " + usage + ")");
    }
}
