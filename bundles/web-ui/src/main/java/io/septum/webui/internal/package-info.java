/**
 * The web UI: a small HTTP server on a loopback address (Netty, the agent's one HTTP stack) that serves the
 * bundled front-end (built from {@code src/main/frontend} by the Maven build) and a read-only JSON API over the same
 * services as the REST API: endpoints, policies with rule hit counts, flows with {@code septum observe}'s filters,
 * a live flow stream (server-sent events) and why a flow got its verdict. Nothing here is exported.
 */
package io.septum.webui.internal;
