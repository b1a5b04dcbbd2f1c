/**
 * The example {@code static} endpoint source: endpoints listed in a small text file (name, host interface, address,
 * labels), offered to the agent through the {@link io.septum.api.EndpointSource} SPI. It is written as a template for
 * new sources: one class, one thread of its own, the whole file reported on every change with {@code resync}, and
 * a bad file reported as unhealthy without touching the endpoints (see docs/writing-a-source.md).
 */
package io.septum.example.staticsource.internal;
