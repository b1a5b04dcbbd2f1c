package io.septum.apiserver.internal;

import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.PrematureChannelClosureException;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayList;
import java.util.List;

/**
 * Fuzz target for the REST request decoding: raw bytes through the API's own pipeline (Netty's decoder with the
 * API's bounds, {@link RequestGuard}, the aggregator), then {@link ApiRoutes#handle} (path segments, query, JSON
 * bodies) against a backend whose services are all missing. The contract: every request is either refused by the
 * guard with an {@link HttpException} carrying a 4xx/5xx status and a message, or answered by the routes with any
 * status but 500: a 500 is the routes' "internal error in the agent", which only an unexpected exception produces.
 * Seeds ({@code ApiRequestFuzzTestInputs/decode/}): the requests the CLI sends, and the refused shapes of
 * {@code RequestGuardSocketTest}.
 */
class ApiRequestFuzzTest {
    private final RequestGuard.Limits limits = RequestGuard.Limits.defaults();
    private final ApiRoutes routes = new ApiRoutes(new ApiServerSocketTest.EmptyBackend());

    @FuzzTest(maxDuration = "10m")
    void decode(byte[] input) {
        List<HttpException> refused = new ArrayList<>();
        List<HttpRequest> accepted = new ArrayList<>();
        EmbeddedChannel ch = new EmbeddedChannel(
                RequestGuard.decoder(limits),
                new RequestGuard(limits, (c, e) -> refused.add(e)),
                new HttpObjectAggregator(64 * 1024),
                new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        try {
                            if (msg instanceof FullHttpRequest full) accepted.add(RequestGuard.toRequest(full));
                        } finally {
                            ReferenceCountUtil.release(msg);
                        }
                    }
                });
        ch.writeInbound(Unpooled.wrappedBuffer(input));
        try {
            ch.finishAndReleaseAll();
        } catch (PrematureChannelClosureException clientLeftMidBody) {
            // the input ends inside a body: the server's Dispatch.exceptionCaught closes such a connection
        }
        for (HttpException e : refused) {
            assertTrue(e.status() >= 400 && e.status() < 600, "refusal status " + e.status());
            assertTrue(e.getMessage() != null && !e.getMessage().isBlank(), "a refusal says why");
        }
        for (HttpRequest req : accepted) {
            HttpResponse r = routes.handle(req);
            assertNotNull(r);
            assertNotEquals(500, r.status(), () -> "internal error for " + req.method() + " " + req.target() + ": "
                    + new String(r.body(), java.nio.charset.StandardCharsets.UTF_8));
        }
    }
}
