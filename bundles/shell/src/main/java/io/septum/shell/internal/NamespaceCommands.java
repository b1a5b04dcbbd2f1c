package io.septum.shell.internal;

import io.septum.api.EndpointManager;
import io.septum.view.Views;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/** {@code namespace:list|set}. */
@Component(service = NamespaceCommands.class)
@GogoCommand(scope = "namespace", function = {"list", "set"})
public final class NamespaceCommands extends ShellSupport {
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    volatile EndpointManager endpoints;

    @Descriptor("List namespaces with their labels")
    public void list(
            @Descriptor(OUTPUT_DESCRIPTION) @Parameter(names = {"-o", "--output"}, absentValue = "table") String output) {
        print(output, need(endpoints, "the endpoint manager").namespaceLabels(), Views::namespaces);
    }

    @Descriptor("Set a namespace's labels, replacing its old ones (none removes them)")
    public void set(@Descriptor(OUTPUT_DESCRIPTION) @Parameter(names = {"-o", "--output"}, absentValue = "table") String output,
            @Descriptor("the namespace") String namespace, @Descriptor("labels, key=value") String... labels) {
        Map<String, String> map = new LinkedHashMap<>();
        for (String l : labels) {
            int eq = l.indexOf('=');
            if (eq <= 0) throw new ShellException("label \"" + l + "\" is not key=value");
            map.put(l.substring(0, eq), l.substring(eq + 1));
        }
        need(endpoints, "the endpoint manager").setNamespaceLabels(namespace, map);
        print(output, Map.of(namespace, map), () -> "Namespace " + namespace
                + (map.isEmpty() ? ": labels removed" : ": " + map.size() + " label(s) set"));
    }
}
