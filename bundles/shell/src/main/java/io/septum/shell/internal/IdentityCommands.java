package io.septum.shell.internal;

import io.septum.api.Identity;
import io.septum.api.IdentityAllocator;
import io.septum.view.Views;
import java.util.List;
import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/** {@code identity:list|get}. */
@Component(service = IdentityCommands.class)
@GogoCommand(scope = "identity", function = {"list", "get"})
public final class IdentityCommands extends ShellSupport {
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    volatile IdentityAllocator identities;

    @Descriptor("List every identity, reserved ones included")
    public void list(
            @Descriptor(OUTPUT_DESCRIPTION) @Parameter(names = {"-o", "--output"}, absentValue = "table") String output) {
        print(output, need(identities, "the identity allocator").list(), Views::identities);
    }

    @Descriptor("Show one identity and its labels")
    public void get(
            @Descriptor(OUTPUT_DESCRIPTION) @Parameter(names = {"-o", "--output"}, absentValue = "table") String output,
            @Descriptor("the identity's number") long id) {
        Identity i = need(identities, "the identity allocator").get(id)
                .orElseThrow(() -> new ShellException("no identity " + id + " (see identity:list)"));
        print(output, i, () -> Views.identities(List.of(i)));
    }
}
