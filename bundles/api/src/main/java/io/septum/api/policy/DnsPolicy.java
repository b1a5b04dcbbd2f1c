package io.septum.api.policy;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The DNS rules ({@code toPorts[].rules.dns}) that govern one (subject, peer, port) path, as the DNS proxy applies
 * them to each query. Obtained from {@link PolicySet#dnsPolicy}; a policy change gives a new one. Since 1.7.
 */
@ProviderType
public interface DnsPolicy {
    /**
     * Cilium's semantics: the query passes when one governing DNS rule matches its name ({@code matchName} exactly,
     * {@code matchPattern} with {@code *} standing for any run of the characters a DNS label may hold, a lone
     * {@code *} for every name), case-insensitively and with or without the trailing dot. An allow of the same
     * peer and port without DNS rules admits every name. {@link Decision#rule()} names the rule that admitted the
     * name, or says why none did.
     */
    Decision decide(String name);
}
