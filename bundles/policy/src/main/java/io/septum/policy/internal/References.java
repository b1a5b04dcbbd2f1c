package io.septum.policy.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What peers that name other objects resolve against when a policy set is built: the {@code CiliumCIDRGroup}s the
 * set holds (by name) and the agent's services. A group or service changed later changes every policy that names
 * it at the next set.
 */
record References(Map<String, CompiledPolicy> groups, ServiceTargets services) {
    References {
        groups = Map.copyOf(groups);
    }

    /** The group's CIDRs; none when there is no such group. */
    List<Cidr> group(String name) {
        CompiledPolicy g = groups.get(name);
        return g == null ? List.of() : g.cidrs();
    }

    /** The CIDRs of every group whose labels {@code selector} selects, in name order, each once. */
    List<Cidr> groups(Selector selector) {
        List<Cidr> out = new ArrayList<>();
        groups.values().stream().sorted(java.util.Comparator.comparing(CompiledPolicy::name))
                .filter(g -> selector.matches(g.labels()))
                .forEach(g -> g.cidrs().stream().filter(c -> !out.contains(c)).forEach(out::add));
        return out;
    }
}
