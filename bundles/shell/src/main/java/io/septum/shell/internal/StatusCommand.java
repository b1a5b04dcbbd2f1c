package io.septum.shell.internal;

import io.septum.api.AgentStatusService;
import io.septum.view.Views;
import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/**
 * {@code status} (scope {@code septum}): the agent's health, as {@code septum status} prints it. The status is
 * assembled by the {@link AgentStatusService} (bundle septum-status), the same service that answers
 * {@code /v1/status}, so the console and the CLI cannot disagree. The reference is optional so that the command
 * stays registered (and says what is wrong) while the status service is stopped or restarting.
 */
@Component(service = StatusCommand.class)
@GogoCommand(scope = "septum", function = "status")
public final class StatusCommand extends ShellSupport {
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    volatile AgentStatusService statusService;

    @Descriptor("Show the agent's health: readiness, start-to-ready time, components, endpoint sources")
    public void status(
            @Descriptor(OUTPUT_DESCRIPTION) @Parameter(names = {"-o", "--output"}, absentValue = "table") String output) {
        json(output); // a bad format is reported before a missing service: it is the operator's to fix either way
        AgentStatusService service = statusService;
        if (service == null) {
            throw new ShellException("the agent's status comes from the API server (bundle septum-api-server), which is "
                    + "not running (see 'lb septum' and the agent's log)");
        }
        print(output, service.status(), Views::status);
    }
}
