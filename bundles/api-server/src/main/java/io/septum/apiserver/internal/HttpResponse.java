package io.septum.apiserver.internal;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/** One complete answer, written with {@code Content-Length} and {@code Connection: close}. */
public record HttpResponse(int status, String contentType, byte[] body, Map<String, String> headers) {
    public HttpResponse {
        body = body == null ? new byte[0] : body;
        headers = headers == null ? Map.of() : Map.copyOf(headers);
    }

    public static HttpResponse json(int status, byte[] body) {
        return new HttpResponse(status, "application/json", body, null);
    }

    public static HttpResponse empty(int status) {
        return new HttpResponse(status, null, null, null);
    }

    public void write(OutputStream out) throws IOException {
        Map<String, String> h = new LinkedHashMap<>();
        if (contentType != null) h.put("Content-Type", contentType);
        h.putAll(headers);
        writeHead(out, status, h, body.length);
        out.write(body);
        out.flush();
    }

    /** Writes a status line and headers; {@code contentLength} < 0 omits the length (body until close). */
    public static void writeHead(OutputStream out, int status, Map<String, String> headers, long contentLength)
            throws IOException {
        StringBuilder b = new StringBuilder(160);
        b.append("HTTP/1.1 ").append(status).append(' ').append(reason(status)).append("\r\n");
        for (Map.Entry<String, String> e : headers.entrySet()) {
            b.append(e.getKey()).append(": ").append(e.getValue()).append("\r\n");
        }
        if (contentLength >= 0 && status != 204 && status != 304) b.append("Content-Length: ").append(contentLength).append("\r\n");
        b.append("Connection: close\r\n\r\n");
        out.write(b.toString().getBytes(StandardCharsets.ISO_8859_1));
    }

    static String reason(int status) {
        return switch (status) {
            case 200 -> "OK";
            case 201 -> "Created";
            case 202 -> "Accepted";
            case 204 -> "No Content";
            case 400 -> "Bad Request";
            case 404 -> "Not Found";
            case 405 -> "Method Not Allowed";
            case 408 -> "Request Timeout";
            case 403 -> "Forbidden";
            case 409 -> "Conflict";
            case 413 -> "Content Too Large";
            case 415 -> "Unsupported Media Type";
            case 431 -> "Request Header Fields Too Large";
            case 500 -> "Internal Server Error";
            case 501 -> "Not Implemented";
            case 503 -> "Service Unavailable";
            case 505 -> "HTTP Version Not Supported";
            case 507 -> "Insufficient Storage";
            default -> "Status";
        };
    }
}
