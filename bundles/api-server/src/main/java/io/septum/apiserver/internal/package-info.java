/**
 * The agent's REST API: the HTTP/1.1 server on a unix domain socket (Netty over epoll: a strict request guard with
 * size limits, a read deadline per request, a write deadline per piece of an answer, a connection cap, chunked
 * streams), the routes that map {@code /v1/...} to the agent's services and their JSON model objects, the monitor
 * fan-out of datapath events to streaming clients, and the DS component that wires them to the OSGi services.
 * Nothing here is exported: the CLI speaks HTTP to it.
 */
package io.septum.apiserver.internal;
