package io.septum.api.flow;

import java.time.Instant;
import java.util.Map;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Writes a policy from observed traffic: {@code septum policy suggest}.
 */
@ProviderType
public interface PolicySuggester {
    /**
     * A CiliumNetworkPolicy (a tree of maps, lists and strings, ready to be written as YAML or JSON) that selects the
     * endpoint and allows exactly the flows observed to and from it since {@code since} (null: every flow held):
     * endpoint peers by their identity labels, other peers by CIDR, with ports and protocols. Throws
     * {@link java.util.NoSuchElementException} for an unknown endpoint and {@link IllegalStateException} when no flow
     * of it was observed.
     */
    Map<String, Object> suggest(String endpoint, Instant since);
}
