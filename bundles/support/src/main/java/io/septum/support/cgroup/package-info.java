/**
 * Facts about the host's cgroups: where the cgroup v2 hierarchy is mounted. Copied privately into each bundle that
 * uses it ({@code -conditionalpackage}); not exported, not an API.
 */
package io.septum.support.cgroup;
