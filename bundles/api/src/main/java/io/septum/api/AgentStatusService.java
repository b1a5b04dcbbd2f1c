package io.septum.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The agent's status, assembled in one place (bundle septum-status) from every service it can see, so that the REST
 * {@code /v1/status}, the CLI and the console's {@code status} command print the same figures.
 */
@ProviderType
public interface AgentStatusService {
    /** The status now; never throws for a missing component, which is reported as a failed line instead. */
    AgentStatus status();
}
