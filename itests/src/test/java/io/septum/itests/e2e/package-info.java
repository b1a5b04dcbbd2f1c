/**
 * End-to-end tests against the real distribution: the agent runs as a subprocess with its own directories, the
 * {@code septum} CLI drives it, and real packets between network namespaces show what the eBPF datapath enforces
 * (the corpus through {@code connectivity test}, bad input, {@code kill -9} and restart, the Star Wars demo).
 */
package io.septum.itests.e2e;
