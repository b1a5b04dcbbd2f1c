/**
 * The network lab behind {@code septum connectivity test} and {@code septum demo starwars}: it builds test
 * topologies out of real kernel objects (network namespaces, veth pairs on a bridge, socat listeners inside the
 * namespaces; or, with {@link io.septum.cli.connectivity.DockerLab}, Docker containers on a lab network), sends probes as real packets from inside a source namespace, and removes everything it made, also
 * after a failure or a kill ({@link io.septum.cli.connectivity.NetLab#cleanupStale(String)}).
 */
package io.septum.cli.connectivity;
