/**
 * The services bundle's implementation: validation of service specs, the registry that resolves backend
 * endpoints and pushes the result to the datapath's load balancer, its persistence, the {@code etc/services.yaml}
 * reader, and the hosts files that let network-namespace endpoints resolve service names.
 */
package io.septum.services.internal;
