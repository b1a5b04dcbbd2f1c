/**
 * The transparent HTTP/1.1 proxy: a Netty epoll listener with IP_TRANSPARENT that receives the connections the
 * datapath redirects to it (their local address is the original destination), judges every request with the
 * policy engine's HTTP rules after path normalization and anti-smuggling checks, answers 403 or forwards it on a
 * marked upstream connection, and reports each request and response as an L7 flow.
 */
package io.septum.proxy.http.internal;
