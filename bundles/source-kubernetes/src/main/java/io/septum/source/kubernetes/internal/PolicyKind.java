package io.septum.source.kubernetes.internal;

import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;

/**
 * The policy resources the source watches. Their definitions are spelled out rather than discovered, so a cluster
 * without Cilium's CRDs costs a failing watch (shown in status), not a failing source.
 */
enum PolicyKind {
    CNP("cilium.io", "v2", "CiliumNetworkPolicy", "ciliumnetworkpolicies", true),
    CCNP("cilium.io", "v2", "CiliumClusterwideNetworkPolicy", "ciliumclusterwidenetworkpolicies", false),
    KNP("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", true),
    /** Not a policy: the named CIDR lists that policies' {@code cidrGroupRef} names (Cilium 1.14 and later). */
    CCG("cilium.io", "v2alpha1", "CiliumCIDRGroup", "ciliumcidrgroups", false);

    final String group;
    final String version;
    final String kind;
    final String plural;
    final boolean namespaced;

    PolicyKind(String group, String version, String kind, String plural, boolean namespaced) {
        this.group = group;
        this.version = version;
        this.kind = kind;
        this.plural = plural;
        this.namespaced = namespaced;
    }

    String apiVersion() {
        return group + "/" + version;
    }

    ResourceDefinitionContext context() {
        return new ResourceDefinitionContext.Builder().withGroup(group).withVersion(version).withKind(kind)
                .withPlural(plural).withNamespaced(namespaced).build();
    }
}
