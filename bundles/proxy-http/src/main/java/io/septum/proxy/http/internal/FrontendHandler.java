package io.septum.proxy.http.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowHttp;
import io.septum.api.flow.FlowIp;
import io.septum.api.flow.FlowL4;
import io.septum.api.flow.FlowL7;
import io.septum.api.policy.HttpRequestInfo;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * One client connection. Requests are read whole (bounded by the body limit), judged one at a time in order, and
 * either answered 403 or forwarded, with the normalized path and an exact Content-Length, on one upstream
 * connection that is reused while both sides keep it alive. The response is streamed back as it arrives, with
 * back-pressure both ways. Anything the proxy cannot vouch for (bad syntax, smuggling signs, limits) is answered
 * with an error and the connection is closed, since the framing of whatever follows can no longer be trusted.
 */
final class FrontendHandler extends ChannelInboundHandlerAdapter {
    /** Hop-by-hop headers (RFC 9110 7.6.1) and those the proxy re-creates itself. */
    private static final Set<String> HOP = Set.of("connection", "keep-alive", "proxy-connection", "te", "trailer",
            "transfer-encoding", "upgrade", "proxy-authorization", "proxy-authenticate", "expect", "content-length");

    private final HttpProxy proxy;
    private HeaderDeadline deadline;
    private ChannelHandlerContext ctx;
    private Judge.ConnectionJudge judge;
    private InetSocketAddress client;
    private InetSocketAddress server;
    private Channel upstream;
    private final ArrayDeque<Exchange> queue = new ArrayDeque<>();
    private Exchange assembling;
    private Exchange current;
    private boolean closing;
    private FullHttpResponse pendingError;
    /** The same for every flow of this connection: made once. */
    private FlowIp flowIp;
    private FlowL4 flowL4;

    /** One request and what became of it. */
    static final class Exchange {
        HttpRequest head;
        CompositeByteBuf body;
        String path;
        String query;
        HttpRequestInfo info;
        boolean keepAlive;
        boolean hadBody;
        long startNanos;
        Judge.Verdict verdict;
        /** The request's URL as flows show it: the same in its request and its response flow. */
        String url;
        int status;
        boolean responseStarted;
        boolean skipInformational;
        boolean upstreamClose;
    }

    FrontendHandler(HttpProxy proxy) {
        this.proxy = proxy;
    }

    void deadline(HeaderDeadline d) {
        this.deadline = d;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        client = (InetSocketAddress) ctx.channel().remoteAddress();
        server = (InetSocketAddress) ctx.channel().localAddress();
        if (proxy.settings().transparent() && server.getPort() == proxy.listenPort()) {
            // connected to the listener itself, not redirected: forwarding to the "original destination" would loop
            proxy.refused.increment();
            ctx.close();
            return;
        }
        try {
            judge = proxy.judge().connection(client, server);
        } catch (RuntimeException e) {
            judge = null; // every request of this connection is denied: fail closed
        }
        ctx.fireChannelActive();
    }

    void headerTimeout() {
        proxy.rejected.increment();
        reject(HttpResponseStatus.REQUEST_TIMEOUT, "request headers not complete within "
                + proxy.settings().headerTimeoutMillis() + " ms");
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            if (closing) return;
            if (msg instanceof HttpRequest req) onHead(req);
            if (msg instanceof HttpContent c) onContent(c);
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    private void onHead(HttpRequest req) {
        deadline.headersDone();
        DecoderResult r = req.decoderResult();
        if (r.isFailure()) {
            Throwable cause = r.cause();
            HttpResponseStatus st = cause instanceof TooLongHttpHeaderException ? HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
                    : cause instanceof TooLongHttpLineException ? HttpResponseStatus.REQUEST_URI_TOO_LONG
                    : HttpResponseStatus.BAD_REQUEST;
            proxy.rejected.increment();
            reject(st, cause == null ? "invalid request" : cause.getMessage());
            return;
        }
        String problem = framingProblem(req);
        if (problem != null) {
            proxy.rejected.increment();
            reject(HttpResponseStatus.BAD_REQUEST, problem);
            return;
        }
        long length = HttpUtil.getContentLength(req, -1L);
        if (length > proxy.settings().maxBodyBytes()) {
            proxy.rejected.increment();
            reject(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "body of " + length + " bytes exceeds the limit of "
                    + proxy.settings().maxBodyBytes());
            return;
        }
        Exchange e = new Exchange();
        e.head = req;
        e.startNanos = System.nanoTime();
        e.keepAlive = HttpUtil.isKeepAlive(req);
        e.hadBody = length > 0 || HttpUtil.isTransferEncodingChunked(req);
        String host = req.headers().get(HttpHeaderNames.HOST);
        String target = req.uri();
        try {
            String rawPath;
            if (target.startsWith("/")) {
                int q = target.indexOf('?');
                rawPath = q >= 0 ? target.substring(0, q) : target;
                e.query = q >= 0 ? target.substring(q + 1) : null;
            } else if (target.regionMatches(true, 0, "http://", 0, 7)) {
                URI u = new URI(target);
                host = u.getRawAuthority();
                rawPath = u.getRawPath() == null || u.getRawPath().isEmpty() ? "/" : u.getRawPath();
                e.query = u.getRawQuery();
            } else {
                throw new PathNormalizer.BadPathException("unsupported request target form");
            }
            e.path = PathNormalizer.normalize(rawPath);
        } catch (PathNormalizer.BadPathException | java.net.URISyntaxException ex) {
            proxy.rejected.increment();
            reject(HttpResponseStatus.BAD_REQUEST, "path rejected: " + ex.getMessage());
            return;
        }
        Map<String, List<String>> headers = new LinkedHashMap<>();
        for (Map.Entry<String, String> h : req.headers()) {
            headers.computeIfAbsent(h.getKey().toLowerCase(Locale.ROOT), k -> new ArrayList<>()).add(h.getValue());
        }
        e.info = new HttpRequestInfo(req.method().name(), e.path, host, headers);
        e.body = ctx.alloc().compositeBuffer(Integer.MAX_VALUE);
        assembling = e;
        if (HttpUtil.is100ContinueExpected(req)) {
            ctx.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE));
        }
    }

    /** Requests whose framing two parsers could read differently. */
    private static String framingProblem(HttpRequest req) {
        HttpHeaders h = req.headers();
        List<String> te = h.getAll(HttpHeaderNames.TRANSFER_ENCODING);
        if (!te.isEmpty()) {
            if (h.contains(HttpHeaderNames.CONTENT_LENGTH)) return "both Transfer-Encoding and Content-Length";
            if (te.size() != 1 || !te.get(0).trim().equalsIgnoreCase("chunked")) {
                return "unsupported Transfer-Encoding '" + String.join(", ", te) + "' (only 'chunked')";
            }
            if (req.protocolVersion().equals(HttpVersion.HTTP_1_0)) return "Transfer-Encoding in an HTTP/1.0 request";
        }
        List<String> hosts = h.getAll(HttpHeaderNames.HOST);
        if (hosts.size() > 1) return "more than one Host header";
        if (hosts.isEmpty() && req.protocolVersion().equals(HttpVersion.HTTP_1_1)) return "HTTP/1.1 request without Host";
        return null;
    }

    private void onContent(HttpContent c) {
        Exchange e = assembling;
        if (e == null) return;
        if (c.decoderResult().isFailure()) {
            proxy.rejected.increment();
            reject(HttpResponseStatus.BAD_REQUEST, "invalid body framing: " + c.decoderResult().cause().getMessage());
            return;
        }
        ByteBuf data = c.content();
        if ((long) e.body.readableBytes() + data.readableBytes() > proxy.settings().maxBodyBytes()) {
            proxy.rejected.increment();
            reject(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "body exceeds the limit of " + proxy.settings().maxBodyBytes());
            return;
        }
        if (data.isReadable()) e.body.addComponent(true, data.retain());
        if (c instanceof LastHttpContent) {
            assembling = null;
            queue.add(e);
            deadline.expectHeaders();
            if (current != null || queue.size() > 1) ctx.channel().config().setAutoRead(false);
            next();
        }
    }

    /** Judges and starts the next queued request when none is in flight. */
    private void next() {
        while (current == null && !queue.isEmpty()) {
            Exchange e = queue.poll();
            current = e;
            proxy.requests.increment();
            Judge.Verdict v;
            try {
                v = judge == null ? new Judge.Verdict(false, "proxy: the connection's policy could not be resolved", null)
                        : judge.decide(e.info);
            } catch (RuntimeException ex) {
                v = new Judge.Verdict(false, "proxy: policy evaluation failed: " + ex.getMessage(), null);
            }
            e.verdict = v;
            proxy.flow(flow(e, false));
            if (!v.allowed()) {
                proxy.denied.increment();
                e.status = 403;
                FullHttpResponse resp = text(HttpResponseStatus.FORBIDDEN, "Access denied");
                boolean keep = e.keepAlive && !closing;
                HttpUtil.setKeepAlive(resp, keep);
                proxy.flow(flow(e, true));
                ctx.writeAndFlush(resp);
                finish(e, keep);
                continue;
            }
            forward(e);
            return;
        }
        if (current == null && queue.isEmpty() && !closing && ctx.channel().isActive()) {
            ctx.channel().config().setAutoRead(true);
            ctx.read();
        }
    }

    private void forward(Exchange e) {
        HttpRequest h = e.head;
        String uri = e.query == null ? e.path : e.path + "?" + e.query;
        DefaultFullHttpRequest out = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, h.method(), uri, e.body);
        e.body = null; // owned by the outgoing request now
        List<String> connectionTokens = new ArrayList<>();
        for (String v : h.headers().getAll(HttpHeaderNames.CONNECTION)) {
            for (String t : v.split(",")) connectionTokens.add(t.trim().toLowerCase(Locale.ROOT));
        }
        for (Map.Entry<String, String> hd : h.headers()) {
            String n = hd.getKey().toLowerCase(Locale.ROOT);
            if (HOP.contains(n) || connectionTokens.contains(n)) continue;
            out.headers().add(hd.getKey(), hd.getValue());
        }
        if (e.hadBody || out.content().isReadable()) HttpUtil.setContentLength(out, out.content().readableBytes());
        Channel up = upstream;
        if (up != null && up.isActive()) {
            write(up, out);
            return;
        }
        InetSocketAddress dst = server;
        InetSocketAddress source = judge != null && judge.keepClientAddress() ? (InetSocketAddress) ctx.channel().remoteAddress() : null;
        proxy.connectUpstream(ctx.channel().eventLoop(), dst, source, new BackendHandler(this)).addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                out.release();
                upstreamFailed("upstream connect error: " + f.cause().getMessage());
                return;
            }
            upstream = f.channel();
            write(upstream, out);
        });
    }

    private void write(Channel up, DefaultFullHttpRequest out) {
        up.writeAndFlush(out).addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) upstreamFailed("upstream write error: " + f.cause().getMessage());
        });
    }

    /** The upstream connection failed before or during a response. */
    void upstreamFailed(String why) {
        Channel up = upstream;
        upstream = null;
        if (up != null) up.close();
        Exchange e = current;
        if (e == null) return;
        if (!e.responseStarted) {
            e.status = 503;
            proxy.flow(flow(e, true));
            current = null;
            closing = true;
            FullHttpResponse resp = text(HttpResponseStatus.SERVICE_UNAVAILABLE, why);
            HttpUtil.setKeepAlive(resp, false);
            ctx.writeAndFlush(resp).addListener(ChannelFutureListener.CLOSE);
        } else {
            ctx.close(); // half a response: the client must see the connection end
        }
    }

    void onResponseHead(HttpResponse r) {
        Exchange e = current;
        if (e == null) return;
        int code = r.status().code();
        if (code >= 100 && code < 200) { // interim responses are not relayed (Expect is handled here)
            e.skipInformational = true;
            return;
        }
        e.status = code;
        e.responseStarted = true;
        e.upstreamClose = !HttpUtil.isKeepAlive(r);
        for (String n : List.of("keep-alive", "proxy-connection", "upgrade")) r.headers().remove(n);
        HttpUtil.setKeepAlive(r, e.keepAlive && !closing && !e.upstreamClose);
        ctx.write(r);
    }

    /** Takes ownership of {@code c}. */
    void onResponseContent(HttpContent c) {
        Exchange e = current;
        if (e == null) {
            c.release();
            return;
        }
        if (e.skipInformational) {
            c.release();
            if (c instanceof LastHttpContent) e.skipInformational = false;
            return;
        }
        if (!(c instanceof LastHttpContent)) {
            ctx.writeAndFlush(c);
            if (!ctx.channel().isWritable() && upstream != null) upstream.config().setAutoRead(false);
            return;
        }
        boolean keep = e.keepAlive && !closing && !e.upstreamClose;
        proxy.flow(flow(e, true));
        ctx.writeAndFlush(c);
        if (e.upstreamClose && upstream != null) {
            upstream.close();
            upstream = null;
        }
        finish(e, keep);
        next();
    }

    void onUpstreamClosed(Channel ch) {
        if (ch != upstream) return;
        upstream = null;
        if (current != null) upstreamFailed("upstream closed the connection");
    }

    private void finish(Exchange e, boolean keepAlive) {
        current = null;
        if (e.body != null) {
            e.body.release();
            e.body = null;
        }
        if (!keepAlive) {
            closing = true;
            ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        if (pendingError != null && queue.isEmpty()) {
            FullHttpResponse r = pendingError;
            pendingError = null;
            ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
        }
    }

    /** Answers an error and closes: whatever the client sent next cannot be framed reliably. */
    private void reject(HttpResponseStatus status, String why) {
        closing = true;
        if (assembling != null) {
            assembling.body.release();
            assembling = null;
        }
        FullHttpResponse resp = text(status, status.reasonPhrase() + ": " + why);
        HttpUtil.setKeepAlive(resp, false);
        proxy.flow(rejectedFlow(status.code(), why));
        if (current != null || !queue.isEmpty()) {
            // a response is on its way: the error follows it, then the connection closes
            queue.forEach(q -> { if (q.body != null) q.body.release(); });
            queue.clear();
            pendingError = resp;
            return;
        }
        ctx.writeAndFlush(resp).addListener(ChannelFutureListener.CLOSE);
    }

    static FullHttpResponse text(HttpResponseStatus status, String body) {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(b));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.TEXT_PLAIN);
        r.headers().set(HttpHeaderNames.CONTENT_LENGTH, b.length);
        return r;
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable() && upstream != null) upstream.config().setAutoRead(true);
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent) {
            ctx.close();
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (assembling != null && assembling.body != null) assembling.body.release();
        assembling = null;
        for (Exchange e : queue) if (e.body != null) e.body.release();
        queue.clear();
        if (pendingError != null) pendingError.release();
        pendingError = null;
        if (upstream != null) upstream.close();
        upstream = null;
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }

    // ---- flows

    private Flow flow(Exchange e, boolean response) {
        long now = System.currentTimeMillis() * 1_000_000L + System.nanoTime() % 1_000_000L;
        Judge.Verdict v = e.verdict;
        boolean allowed = v != null && v.allowed();
        if (e.url == null) {
            e.url = "http://" + (e.info.host() == null ? hostOf(server) : e.info.host()) + e.path
                    + (e.query == null ? "" : "?" + e.query);
        }
        FlowHttp http = new FlowHttp(response ? e.status : 0, e.head.method().name(), e.url, "HTTP/1.1");
        FlowL7 l7 = new FlowL7(response ? "RESPONSE" : "REQUEST", response ? System.nanoTime() - e.startNanos : 0, http);
        return new Flow(null, now, allowed ? Flow.FORWARDED : Flow.DROPPED, 0, null,
                ip(), l4(), judge == null ? null : judge.client(), judge == null ? null : judge.server(),
                "L7", Flow.TYPE_L7, judge == null ? "INGRESS" : judge.direction(), Flow.TO_PROXY, Flow.MATCH_L7,
                judge == null ? 0 : judge.endpointId(), 0, v == null ? null : v.policy(), v == null ? null : v.rule(),
                response, l7);
    }

    private Flow rejectedFlow(int code, String why) {
        long now = System.currentTimeMillis() * 1_000_000L + System.nanoTime() % 1_000_000L;
        FlowL7 l7 = new FlowL7("RESPONSE", 0, new FlowHttp(code, "", "", "HTTP/1.1"));
        return new Flow(null, now, Flow.DROPPED, 0, null, ip(), l4(),
                judge == null ? null : judge.client(), judge == null ? null : judge.server(),
                "L7", Flow.TYPE_L7, judge == null ? "INGRESS" : judge.direction(), Flow.TO_PROXY, Flow.MATCH_L7,
                judge == null ? 0 : judge.endpointId(), 0, null, "rejected by the proxy: " + why, true, l7);
    }

    private FlowIp ip() {
        if (flowIp == null) {
            String s = client.getAddress().getHostAddress();
            String d = server.getAddress().getHostAddress();
            flowIp = new FlowIp(s, d, s.contains(":") ? "IPv6" : "IPv4");
        }
        return flowIp;
    }

    private FlowL4 l4() {
        if (flowL4 == null) flowL4 = new FlowL4("TCP", client.getPort(), server.getPort(), List.of());
        return flowL4;
    }

    private static String hostOf(InetSocketAddress a) {
        String h = a.getAddress().getHostAddress();
        return (h.contains(":") ? "[" + h + "]" : h) + ":" + a.getPort();
    }
}
