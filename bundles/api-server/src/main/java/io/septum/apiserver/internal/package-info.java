/**
 * The agent's REST API: a small HTTP/1.1 server on a unix domain socket (request reader with size limits and read
 * deadlines, response writer, a bounded pool of connection threads), the routes that map {@code /v1/...} to the
 * agent's services and their JSON model objects, the monitor fan-out of datapath events to streaming clients, and
 * the DS component that wires them to the OSGi services. Nothing here is exported: the CLI speaks HTTP to it.
 */
package io.septum.apiserver.internal;
