package io.septum.shell.internal;

import io.septum.api.Endpoint;
import io.septum.api.EndpointManager;
import io.septum.api.EndpointSpec;
import io.septum.view.Views;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/** {@code endpoint:list|get|add|delete}. */
@Component(service = EndpointCommands.class)
@GogoCommand(scope = "endpoint", function = {"list", "get", "add", "delete", "config"})
public final class EndpointCommands extends ShellSupport {
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    volatile EndpointManager endpoints;

    private EndpointManager manager() {
        return need(endpoints, "the endpoint manager");
    }

    @Descriptor("List every endpoint with its identity, labels and state")
    public void list(
            @Descriptor(OUTPUT_DESCRIPTION) @Parameter(names = {"-o", "--output"}, absentValue = "table") String output) {
        print(output, manager().list(), Views::endpoints);
    }

    @Descriptor("Show one endpoint in full")
    public void get(
            @Descriptor(OUTPUT_DESCRIPTION) @Parameter(names = {"-o", "--output"}, absentValue = "table") String output,
            @Descriptor("endpoint id, namespace/name, or a unique name") String endpoint) {
        print(output, find(endpoint), Views::endpoint);
    }

    @Descriptor("Set an endpoint's options (persisted): audit=on lets would-be drops pass as AUDIT flows, audit=off enforces")
    public void config(
            @Descriptor(OUTPUT_DESCRIPTION) @Parameter(names = {"-o", "--output"}, absentValue = "table") String output,
            @Descriptor("endpoint id, namespace/name, or a unique name") String endpoint,
            @Descriptor("audit=on|off") String option) {
        boolean audit;
        if (option.equals("audit=on") || option.equals("audit=true")) audit = true;
        else if (option.equals("audit=off") || option.equals("audit=false")) audit = false;
        else throw new ShellException("unknown option \"" + option + "\" (expected audit=on or audit=off)");
        Endpoint e = manager().setAudit(String.valueOf(find(endpoint).id()), audit);
        print(output, e, () -> "Endpoint " + e.id() + " (" + e.qualifiedName() + "): audit " + (e.audit() ? "on" : "off"));
    }

    @Descriptor("Ask an endpoint source (netns by default) to manage a network namespace as an endpoint")
    public void add(
            @Descriptor("the endpoint's name") @Parameter(names = "--name", absentValue = "") String name,
            @Descriptor("its namespace (default: default)") @Parameter(names = "--namespace", absentValue = "") String namespace,
            @Descriptor("network namespace name or path") @Parameter(names = "--netns", absentValue = "") String netns,
            @Descriptor("host-side interface (default: found from the namespace)") @Parameter(names = "--interface", absentValue = "") String iface,
            @Descriptor("the endpoint source to ask") @Parameter(names = "--source", absentValue = "netns") String source,
            @Descriptor(OUTPUT_DESCRIPTION) @Parameter(names = {"-o", "--output"}, absentValue = "table") String output,
            @Descriptor("labels, key=value, without a source") String... labels) {
        if (blank(name) || blank(netns)) {
            throw new ShellException("endpoint:add needs --name NAME and --netns NETNS (e.g. endpoint:add --name web --netns web app=web)");
        }
        Map<String, String> map = new LinkedHashMap<>();
        for (String l : labels) {
            int eq = l.indexOf('=');
            if (eq <= 0) throw new ShellException("label \"" + l + "\" is not key=value");
            if (l.substring(0, eq).contains(":")) {
                throw new ShellException("label \"" + l + "\" names a source; give key=value only (the source adds its own)");
            }
            map.put(l.substring(0, eq), l.substring(eq + 1));
        }
        String ns = blank(namespace) ? null : namespace;
        // namespace/name is how the netns source keys endpoints, whichever way they were declared
        EndpointSpec spec = new EndpointSpec((ns == null ? "default" : ns) + "/" + name, name, ns, map,
                blank(iface) ? null : iface, netns, List.of(), null, Map.of("netns", netns));
        manager().add(source, spec);
        String qn = (ns == null ? "default" : ns) + "/" + name;
        java.util.Optional<Endpoint> e = manager().get(qn);
        if (json(output)) {
            print(output, e.isPresent() ? e.get() : spec, () -> "");
        } else {
            out().println(e.map(x -> "Endpoint " + qn + " added (id " + x.id() + ", " + x.state() + ")")
                    .orElse("Endpoint " + qn + " requested from source " + source + "; see endpoint:get " + qn));
        }
    }

    @Descriptor("Ask the endpoint's source to delete it")
    public void delete(
            @Descriptor(OUTPUT_DESCRIPTION) @Parameter(names = {"-o", "--output"}, absentValue = "table") String output,
            @Descriptor("endpoint id, namespace/name, or a unique name") String endpoint) {
        Endpoint e = find(endpoint);
        manager().delete(String.valueOf(e.id()));
        print(output, Map.of("deleted", endpoint), () -> "Endpoint " + endpoint + " deleted");
    }

    private Endpoint find(String idOrName) {
        return manager().get(idOrName).orElseThrow(() -> new ShellException("no endpoint \"" + idOrName
                + "\" (see endpoint:list; use an id, namespace/name or a unique name)"));
    }
}
