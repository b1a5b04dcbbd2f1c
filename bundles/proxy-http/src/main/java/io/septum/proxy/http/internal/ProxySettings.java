package io.septum.proxy.http.internal;

/**
 * The proxy's limits (configuration pid {@code io.septum.proxy}).
 *
 * @param port                  listener port in the host network namespace (0: any free port, for tests)
 * @param maxConnections        client connections open at once; more are closed at accept
 * @param maxHeaderBytes        request line plus headers; larger gets 431
 * @param maxBodyBytes          request body; larger gets 413
 * @param headerTimeoutMillis   from the first byte of a request (or the connection's start) to its last header
 * @param idleTimeoutMillis     a connection with no traffic either way is closed
 * @param connectTimeoutMillis  to the original destination; exceeded gets 503
 * @param upstreamMark          SO_MARK of upstream sockets (0: none, for tests without the datapath)
 * @param transparent           IP_TRANSPARENT on the listener (false: plain loopback tests)
 */
record ProxySettings(int port, int maxConnections, int maxHeaderBytes, long maxBodyBytes, long headerTimeoutMillis,
                     long idleTimeoutMillis, long connectTimeoutMillis, int upstreamMark, boolean transparent) {
    ProxySettings withPort(int p) {
        return new ProxySettings(p, maxConnections, maxHeaderBytes, maxBodyBytes, headerTimeoutMillis,
                idleTimeoutMillis, connectTimeoutMillis, upstreamMark, transparent);
    }
}
