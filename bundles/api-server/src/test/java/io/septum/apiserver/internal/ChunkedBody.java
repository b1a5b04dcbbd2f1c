package io.septum.apiserver.internal;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/** Reads a {@code Transfer-Encoding: chunked} body as the bytes it carries: how the tests read the API's streams. */
final class ChunkedBody extends InputStream {
    private final InputStream in;
    private long left;
    private boolean done;

    ChunkedBody(InputStream in) {
        this.in = in;
    }

    @Override
    public int read() throws IOException {
        if (done) return -1;
        if (left == 0) {
            String size = line();
            if (size.isEmpty()) size = line(); // the CRLF that ends the previous chunk
            left = Long.parseLong(size.split(";")[0].trim(), 16);
            if (left == 0) {
                done = true;
                return -1;
            }
        }
        int c = in.read();
        if (c < 0) throw new IOException("the stream ended inside a chunk");
        left--;
        return c;
    }

    private String line() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) != '\n') {
            if (c < 0) throw new IOException("the stream ended between chunks");
            if (c != '\r') b.write(c);
        }
        return b.toString(StandardCharsets.US_ASCII);
    }

    /** What {@code in} gives up to and including {@code end}: a response's head, or one line of a stream. */
    static String readUntil(InputStream in, String end) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        while (!b.toString(StandardCharsets.UTF_8).endsWith(end)) {
            int c = in.read();
            if (c < 0) throw new IOException("stream ended after: " + b);
            b.write(c);
        }
        return b.toString(StandardCharsets.UTF_8);
    }
}
