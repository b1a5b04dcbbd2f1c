/**
 * How a component reads what the launcher tells every bundle (framework properties such as the agent's
 * directories). Copied privately into each bundle that uses it ({@code -conditionalpackage}); not exported, not an
 * API.
 */
package io.septum.support.config;
