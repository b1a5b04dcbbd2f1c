/**
 * The agent's Prometheus metrics: {@link io.septum.metrics.internal.SeptumMetrics} turns flows, the datapath's rule
 * counters, endpoints and policy realization times into Prometheus metrics, and the DS component serves them on a
 * loopback port with the Prometheus Java client's HTTP server, only when configuration turns it on.
 */
package io.septum.metrics.internal;
