package io.septum.apiserver.internal;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCountUtil;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * Lets nothing ambiguous reach the routes: what Netty's decoder accepts is checked again as this API always has:
 * a request line of method, origin-form target and version; header fields within bounds and without control
 * characters; a body only by {@code Content-Length}. A refusal is an {@link HttpException} with the status to
 * answer: 400 (malformed), 413 (body too large, answered before the body is read), 431 (header section too large),
 * 501 (transfer codings), 505 (HTTP version). Whatever the client sends after a refused head is dropped.
 *
 * <p>Chunked request bodies are refused rather than decoded: the CLI always sends a length, and a request with
 * both {@code Transfer-Encoding} and {@code Content-Length} is the classic smuggling shape.
 */
final class RequestGuard extends ChannelInboundHandlerAdapter {
    /**
     * @param maxHeaderBytes request line and header section
     * @param maxHeaders     header fields
     * @param maxBodyBytes   body, by Content-Length
     */
    record Limits(int maxHeaderBytes, int maxHeaders, long maxBodyBytes) {
        /** 64 KiB of request line and headers, 100 header fields, 16 MiB of body. */
        static Limits defaults() {
            return new Limits(64 * 1024, 100, 16L * 1024 * 1024);
        }
    }

    /** Netty's decoder with this API's header bounds; a request with both TE and CL is a failure, not a choice. */
    static HttpRequestDecoder decoder(Limits limits) {
        return new HttpRequestDecoder(new HttpDecoderConfig()
                .setMaxInitialLineLength(limits.maxHeaderBytes())
                .setMaxHeaderSize(limits.maxHeaderBytes())
                .setMaxChunkSize(64 * 1024)
                // identical repeated lengths are one length; different ones are refused by the decoder
                .setAllowDuplicateContentLengths(true)
                .setValidateHeaders(true)) {
            @Override
            protected void handleTransferEncodingChunkedWithContentLength(HttpMessage message) {
                throw new IllegalArgumentException("both Transfer-Encoding and Content-Length: refused");
            }
        };
    }

    private final Limits limits;
    private final BiConsumer<Channel, HttpException> refuse;
    private boolean refused;

    RequestGuard(Limits limits, BiConsumer<Channel, HttpException> refuse) {
        this.limits = limits;
        this.refuse = refuse;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (refused) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof io.netty.handler.codec.http.HttpRequest head) {
            HttpException e = check(head);
            if (e != null) {
                refused = true;
                ReferenceCountUtil.release(msg);
                ctx.pipeline().fireUserEventTriggered(ApiServer.REQUEST_DONE);
                refuse.accept(ctx.channel(), e);
                return;
            }
        } else if (msg instanceof HttpContent c && !c.decoderResult().isSuccess()) {
            refused = true;
            ReferenceCountUtil.release(msg);
            ctx.pipeline().fireUserEventTriggered(ApiServer.REQUEST_DONE);
            refuse.accept(ctx.channel(), failure(null, c.decoderResult().cause()));
            return;
        }
        ctx.fireChannelRead(msg);
    }

    /** Why the request head is refused, or null. */
    HttpException check(io.netty.handler.codec.http.HttpRequest head) {
        if (!head.decoderResult().isSuccess()) return failure(head, head.decoderResult().cause());
        HttpVersion v = head.protocolVersion();
        if (!v.protocolName().equals("HTTP")) return new HttpException(400, "malformed HTTP version \"" + printable(v.text()) + "\"");
        if (v.majorVersion() != 1 || v.minorVersion() > 1) {
            return new HttpException(505, "HTTP version " + printable(v.text()) + " not supported (use HTTP/1.1)");
        }
        if (!isToken(head.method().name())) return new HttpException(400, "malformed method");
        String target = head.uri();
        if (!target.startsWith("/") || !isTargetChars(target)) {
            return new HttpException(400, "malformed request target (expected an absolute path such as /v1/status)");
        }
        if (head.headers().size() > limits.maxHeaders()) {
            return new HttpException(431, "more than " + limits.maxHeaders() + " header fields");
        }
        for (Map.Entry<String, String> h : head.headers()) {
            if (!isToken(h.getKey())) return new HttpException(400, "malformed header name \"" + printable(h.getKey()) + "\"");
            String value = h.getValue();
            for (int i = 0; i < value.length(); i++) {
                char c = value.charAt(i);
                if ((c < 0x20 && c != '\t') || c == 0x7f) return new HttpException(400, "control character in header " + h.getKey());
            }
        }
        if (head.headers().contains("transfer-encoding")) {
            return new HttpException(501, "Transfer-Encoding is not supported for requests; send Content-Length");
        }
        String cl = head.headers().get("content-length");
        if (cl != null) {
            cl = cl.strip();
            if (cl.isEmpty() || cl.length() > 18 || !cl.chars().allMatch(c -> c >= '0' && c <= '9')) {
                return new HttpException(400, "malformed Content-Length \"" + printable(cl) + "\"");
            }
            long length = Long.parseLong(cl);
            if (length > limits.maxBodyBytes()) {
                return new HttpException(413, "request body of " + length + " bytes exceeds the limit of "
                        + limits.maxBodyBytes() + " bytes");
            }
        }
        return null;
    }

    /** A decoder failure as the answer this API gives. */
    private HttpException failure(io.netty.handler.codec.http.HttpRequest head, Throwable cause) {
        String why = cause == null || cause.getMessage() == null ? "" : cause.getMessage();
        if (cause instanceof TooLongFrameException) {
            return new HttpException(431, "request line and headers exceed " + limits.maxHeaderBytes() + " bytes");
        }
        if (why.contains("Transfer-Encoding and Content-Length")) return new HttpException(400, why);
        if (why.contains("Content-Length")) return new HttpException(400, "malformed Content-Length: " + why);
        // Netty stands in a placeholder request for a request line it could not read
        if (head == null || head.uri().equals("/bad-request")) {
            return new HttpException(400, "malformed request line (expected METHOD SP /path SP HTTP/1.1): " + why);
        }
        return new HttpException(400, "malformed header field (expected Name: value): " + why);
    }

    /** The routes' view of an accepted request: lower-case header names, repeated headers joined by ", ". */
    static HttpRequest toRequest(FullHttpRequest full) {
        Map<String, String> headers = new LinkedHashMap<>();
        for (Map.Entry<String, String> h : full.headers()) {
            String key = h.getKey().toLowerCase(Locale.ROOT);
            headers.merge(key, h.getValue().strip(), (a, b) -> key.equals("content-length") ? a : a + ", " + b);
        }
        byte[] body = new byte[full.content().readableBytes()];
        full.content().getBytes(full.content().readerIndex(), body);
        return new HttpRequest(full.method().name(), full.uri(), full.protocolVersion().text(), headers, body);
    }

    private static boolean isToken(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
            if (!ok) return false;
        }
        return !s.isEmpty();
    }

    private static boolean isTargetChars(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c <= 0x20 || c >= 0x7f) return false;
        }
        return true;
    }

    private static String printable(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length() && i < 64; i++) {
            char c = s.charAt(i);
            b.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return b.toString();
    }
}
