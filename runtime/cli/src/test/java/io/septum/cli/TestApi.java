package io.septum.cli;

import io.septum.apiserver.internal.ApiRoutes;
import io.septum.apiserver.internal.ApiServer;
import io.septum.apiserver.internal.Backend;
import io.septum.apiserver.internal.MonitorHub;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** The real API server on a unix socket, for the CLI's tests: started, listening, with the test's backend. */
final class TestApi {
    private TestApi() {
    }

    /** A server on {@code socket} for {@code backend}, accepting up to {@code connections} at once. */
    static ApiServer start(Path socket, Backend backend, MonitorHub hub, int connections) throws Exception {
        ApiServer server = new ApiServer(socket, new ApiRoutes(backend), hub,
                new ApiServer.Settings(connections, 5_000, null, 100));
        server.start().get(5, TimeUnit.SECONDS);
        return server;
    }
}
