package io.septum.apiserver.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * One chunked answer of JSON lines on a Netty channel, written from a worker thread: the head, one piece per
 * {@link #line}, and the end. Each piece must be taken by the client within the I/O deadline, or the connection
 * closes and the writer gets an {@link IOException}. Used by every stream the agent serves: {@code /v1/monitor} and
 * {@code /v1/flows?follow=true} on the unix socket, and the peer flow service.
 */
final class NdjsonStream {
    static final byte[] HEARTBEAT = "\n".getBytes(StandardCharsets.US_ASCII);

    private final Channel ch;
    private final ObjectMapper mapper;
    private final long ioTimeoutMillis;

    NdjsonStream(Channel ch, ObjectMapper mapper, long ioTimeoutMillis) {
        this.ch = ch;
        this.mapper = mapper;
        this.ioTimeoutMillis = ioTimeoutMillis;
    }

    boolean open() {
        return ch.isActive();
    }

    /** The head of a stream: chunked JSON lines, no length. */
    void head() throws IOException {
        DefaultHttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        r.headers().set("Content-Type", "application/x-ndjson").set("Cache-Control", "no-cache")
                .set("Transfer-Encoding", "chunked").set("Connection", "close");
        await(ch.writeAndFlush(r));
    }

    /** One event as one JSON line. */
    void line(Object event) throws IOException {
        chunk(bytes(event));
    }

    /** An empty line: lets an idle stream notice a client that left. */
    void heartbeat() throws IOException {
        chunk(HEARTBEAT);
    }

    byte[] bytes(Object event) throws IOException {
        byte[] json = mapper.writeValueAsBytes(event);
        byte[] out = java.util.Arrays.copyOf(json, json.length + 1);
        out[json.length] = '\n';
        return out;
    }

    /** One piece of a stream; the client must take it within the deadline, or the connection closes. */
    void chunk(byte[] bytes) throws IOException {
        await(ch.writeAndFlush(new DefaultHttpContent(Unpooled.wrappedBuffer(bytes))));
    }

    private void await(ChannelFuture f) throws IOException {
        try {
            // the write-timeout handler fails the write after the deadline; this wait only backs it up
            if (!f.await(ioTimeoutMillis + 1_000)) {
                ch.close();
                throw new IOException("the client did not take the answer within " + ioTimeoutMillis + " ms");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            ch.close();
            throw new IOException("interrupted", e);
        }
        if (!f.isSuccess()) throw new IOException("the client left: " + f.cause());
    }

    void end() {
        if (ch.isActive()) ch.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT).addListener(ChannelFutureListener.CLOSE);
    }
}
