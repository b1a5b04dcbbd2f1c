package io.septum.api.policy;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The HTTP rules that govern one (subject, peer, port) path, as the L7 proxy applies them to each request of a
 * connection. Obtained once per connection from {@link PolicySet#httpPolicy}; a policy change gives a new one.
 */
@ProviderType
public interface HttpPolicy {
    /**
     * Cilium's semantics: the request passes when at least one governing HTTP rule matches it ({@code method},
     * {@code path} and {@code host} are regular expressions matched against the whole value; every listed header
     * must be present, with the given value when one is given). Any allow of the same peer without HTTP rules
     * that covers the port (L3-only, L4, L3/L4 or a port range) admits every request: Cilium's union of the rules
     * that apply. {@link Decision#rule()} names the rule that admitted the request, or says why none did.
     */
    Decision decide(HttpRequestInfo request);
}
