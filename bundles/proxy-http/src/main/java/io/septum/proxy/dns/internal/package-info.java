/**
 * The transparent DNS proxy: it answers or REFUSES the queries that DNS rules govern, and learns the addresses of
 * the answers it relays into the FQDN cache, from which {@code toFQDNs} rules allow.
 */
package io.septum.proxy.dns.internal;
