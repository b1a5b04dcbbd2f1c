/**
 * The flow observer's implementation: the enricher (event to flow), the ring, the on-disk log and the DS
 * component that runs them on one thread of its own, off the datapath's reader thread.
 */
package io.septum.observer.internal;
