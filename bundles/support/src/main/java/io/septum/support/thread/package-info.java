/**
 * The agent's own threads: daemons named for what they do, and the listener lists they tell of changes. Copied
 * privately into each bundle that uses it ({@code -conditionalpackage}); not exported, not an API.
 */
package io.septum.support.thread;
