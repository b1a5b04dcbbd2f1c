/**
 * The {@code cgroup} endpoint source: a DS component that finds the cgroup v2 mount, selects cgroup directories with
 * the path or glob rules of its configuration, watches their parent directories (inotify, plus a periodic rescan),
 * and reports each selected cgroup as an endpoint without an interface, whose policy the datapath enforces with
 * cgroup_skb programs attached to the directory. Nothing here is exported: the agent sees only the
 * {@code EndpointSource} service.
 */
package io.septum.source.cgroup.internal;
