/**
 * The {@code docker} endpoint source: a DS component that lists the running containers of a Docker engine over its
 * unix socket (docker-java, embedded in the bundle), follows the engine's event stream, and reports each container
 * with a network namespace of its own as an endpoint with its host-side veth, addresses, labels and identifiers.
 * Nothing here is exported: the agent sees only the {@code EndpointSource} service.
 */
package io.septum.source.docker.internal;
