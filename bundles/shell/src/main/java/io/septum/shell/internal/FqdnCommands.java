package io.septum.shell.internal;

import io.septum.api.fqdn.FqdnCache;
import io.septum.view.Views;
import java.util.List;
import java.util.Map;
import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/** {@code fqdn:list|clean}: the DNS proxy's FQDN cache, as {@code septum fqdn cache list|clean}. */
@Component(service = FqdnCommands.class)
@GogoCommand(scope = "fqdn", function = {"list", "clean"})
public final class FqdnCommands extends ShellSupport {
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    volatile FqdnCache cache;

    @Descriptor("List the names the DNS proxy saw answered, with their addresses")
    public void list(
            @Descriptor(OUTPUT_DESCRIPTION) @Parameter(names = {"-o", "--output"}, absentValue = "table") String output) {
        print(output, need(cache, "the FQDN cache (the DNS proxy)").entries(), Views::fqdnCache);
    }

    @Descriptor("Forget every name, or one name's addresses")
    public void clean(
            @Descriptor(OUTPUT_DESCRIPTION) @Parameter(names = {"-o", "--output"}, absentValue = "table") String output,
            @Descriptor("only this name") @Parameter(names = {"--name"}, absentValue = "") String name) {
        int removed = need(cache, "the FQDN cache (the DNS proxy)").clean(name.isBlank() ? null : name);
        print(output, Map.of("removed", removed), () -> "removed " + removed + " address(es)");
    }
}
