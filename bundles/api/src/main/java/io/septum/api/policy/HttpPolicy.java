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
     * must be present, with the given value when one is given). An L3/L4 allow without HTTP rules for the same
     * peer and port admits every request. {@link Decision#rule()} names the matching rule, or says why none did.
     */
    Decision decide(HttpRequestInfo request);
}
