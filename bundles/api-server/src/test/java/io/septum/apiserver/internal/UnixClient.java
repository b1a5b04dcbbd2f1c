package io.septum.apiserver.internal;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The raw client the socket tests share: it writes bytes as given (so that a test can send what no HTTP library
 * would) and reads the answer as it came, head and body, until the server closes the connection.
 */
final class UnixClient {
    private UnixClient() {
    }

    /** A connection to the API socket; the caller closes it. */
    static SocketChannel connect(Path socket) throws IOException {
        SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            c.connect(UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
            c.close();
            throw e;
        }
        return c;
    }

    /** Writes {@code raw} whole, one byte per character (ISO-8859-1), as a request head is. */
    static void send(SocketChannel c, String raw) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(raw.getBytes(StandardCharsets.ISO_8859_1));
        while (b.hasRemaining()) c.write(b);
    }

    /** Everything the server sends until it closes the connection. */
    static String readAll(SocketChannel c) throws IOException {
        return new String(Channels.newInputStream(c).readAllBytes(), StandardCharsets.UTF_8);
    }

    /** Sends {@code raw} on a new connection and returns the whole answer. */
    static String exchange(Path socket, String raw) throws IOException {
        try (SocketChannel c = connect(socket)) {
            send(c, raw);
            return readAll(c);
        }
    }

    /** {@code GET path} on a new connection: the whole answer. */
    static String get(Path socket, String path) throws IOException {
        return exchange(socket, "GET " + path + " HTTP/1.1\r\n\r\n");
    }

    /** What follows the head of an answer. */
    static String body(String response) {
        return response.substring(response.indexOf("\r\n\r\n") + 4);
    }
}
