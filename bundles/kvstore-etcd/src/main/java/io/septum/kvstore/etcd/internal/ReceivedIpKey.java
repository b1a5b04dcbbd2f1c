package io.septum.kvstore.etcd.internal;

import io.septum.api.IpPrefix;
import io.septum.api.RemoteEndpoint;
import io.septum.api.ReservedIdentity;
import java.util.List;
import java.util.function.Predicate;

/**
 * Another node's ip key as {@link IpcacheSync} received it, with the checks that depend on the key alone done once:
 * a node's registration changing judges all its keys again, which must not parse their addresses again.
 *
 * @param ip the parsed address, null when the entry is refused whatever the registrations say
 * @param refused why it is refused regardless of node registrations, or null
 * @param own whether the address is this node's own (no other node may claim it)
 */
record ReceivedIpKey(RemoteEndpoint endpoint, IpPrefix ip, String refused, boolean own) {
    static ReceivedIpKey of(String key, RemoteEndpoint e, Predicate<IpPrefix> mine) {
        String keyNode = key.substring(IpcacheSync.IP_PREFIX.length(), key.indexOf('/', IpcacheSync.IP_PREFIX.length()));
        if (!keyNode.equals(e.node())) return refused(e, "the key is node " + keyNode + "'s but the value names " + e.node());
        IpPrefix ip;
        try {
            ip = IpPrefix.parse(e.ip());
        } catch (IllegalArgumentException ex) {
            return refused(e, ex.getMessage());
        }
        if (!key.endsWith("/" + e.ip())) return refused(e, "the key does not name its address " + e.ip());
        if (e.identity() < ReservedIdentity.FIRST_ALLOCATED || e.identity() > ReservedIdentity.LAST_ALLOCATED) {
            return refused(e, "identity " + e.identity() + " is not a cluster-wide one");
        }
        return new ReceivedIpKey(e, ip, null, mine.test(ip));
    }

    private static ReceivedIpKey refused(RemoteEndpoint e, String why) {
        return new ReceivedIpKey(e, null, why, false);
    }

    /**
     * Why the entry is refused, or null when it is taken.
     *
     * @param node the registration of the node the entry names, null when it has none
     * @param operator the CIDRs the operator wrote for the node, which replace those it registered; null: none
     */
    String refusal(IpcacheSync.NodeInfo node, List<IpPrefix> cidrs, List<IpPrefix> operator) {
        RemoteEndpoint e = endpoint;
        if (node == null) return "node " + e.node() + " is not registered";
        if (refused != null) return refused;
        for (IpPrefix c : operator != null ? operator : cidrs) if (c.contains(ip)) return null;
        return e.ip() + " is outside the CIDRs " + (operator != null ? "the operator set for node " + e.node()
                + " (" + IpcacheSync.NODE_CIDRS_PREFIX + e.node() + ") " + operator : "node " + e.node() + " registered " + node.cidrs());
    }
}
