/**
 * The lifecycle every endpoint source repeats: one worker thread, reconnecting with backoff while ignoring callbacks
 * of lost connections, and reporting only what changed. Copied privately into each bundle that uses it
 * ({@code -conditionalpackage}); not exported, not an API.
 */
package io.septum.support.source;
