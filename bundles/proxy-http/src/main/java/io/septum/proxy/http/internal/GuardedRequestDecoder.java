package io.septum.proxy.http.internal;

import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpRequestDecoder;

/**
 * Netty's request decoder, except that a request with both {@code Transfer-Encoding: chunked} and
 * {@code Content-Length} is invalid (answered 400) instead of having its Content-Length dropped: a front end and a
 * back end that disagree on which header wins is how requests are smuggled. Duplicate Content-Length headers are
 * already invalid with Netty's defaults ({@code allowDuplicateContentLengths} false).
 */
final class GuardedRequestDecoder extends HttpRequestDecoder {
    static final class SmugglingException extends IllegalArgumentException {
        SmugglingException(String message) {
            super(message);
        }
    }

    GuardedRequestDecoder(int maxHeaderBytes) {
        super(new HttpDecoderConfig()
                .setMaxInitialLineLength(maxHeaderBytes)
                .setMaxHeaderSize(maxHeaderBytes)
                .setMaxChunkSize(64 * 1024)
                .setAllowDuplicateContentLengths(false)
                .setValidateHeaders(true));
    }

    @Override
    protected void handleTransferEncodingChunkedWithContentLength(HttpMessage message) {
        throw new SmugglingException("both Transfer-Encoding and Content-Length");
    }
}
