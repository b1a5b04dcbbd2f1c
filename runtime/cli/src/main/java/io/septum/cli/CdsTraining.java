package io.septum.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The training run of {@code bin/septum-cds}: the commonest commands against a stand-in for the agent on a socket of
 * its own, which answers each with made-up data, so that the class-data archive also holds what reading and printing
 * an answer loads (Jackson's deserializers for the API's records), not only what a refused connection loads. With
 * it, {@code septum status} took 0.31-0.34 s against 0.40-0.41 s (medians; docs/benchmarks.md). Prints nothing; exits
 * with the status command's exit code.
 */
public final class CdsTraining {
    /** A plausible {@code GET /v1/status} answer: what the status table reads. */
    static final String STATUS = "{\"version\":\"0\",\"ready\":true,\"uptimeMillis\":60000,\"startToReadyMillis\":1500,"
            + "\"enforcementMode\":\"default\",\"policyRevision\":1,\"endpoints\":1,\"identities\":1,"
            + "\"components\":[{\"name\":\"datapath\",\"state\":\"ok\",\"message\":\"training\"}],"
            + "\"sources\":[],\"flows\":null}";
    private static final Map<String, String> ANSWERS = Map.of("/v1/status", STATUS, "/v1/endpoints", "[]",
            "/v1/identities", "[]", "/v1/policies", "[]");
    private static final List<List<String>> COMMANDS = List.of(List.of("status"), List.of("endpoint", "list"),
            List.of("identity", "list"), List.of("policy", "list"));

    private CdsTraining() {
    }

    public static void main(String[] args) throws IOException {
        System.exit(train());
    }

    /** Runs the commands against the stand-in; returns the status command's exit code. */
    static int train() throws IOException {
        Path dir = Files.createTempDirectory("septum-cds-training");
        Path sock = dir.resolve("agent.sock");
        int status = 1;
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(sock));
            Thread answering = new Thread(() -> answer(server), "septum-cds-agent");
            answering.setDaemon(true);
            answering.start();
            PrintWriter nowhere = new PrintWriter(Writer.nullWriter());
            for (List<String> command : COMMANDS) {
                String[] line = java.util.stream.Stream.concat(java.util.stream.Stream.of("--socket", sock.toString()),
                        command.stream()).toArray(String[]::new);
                int rc = SeptumCli.execute(line, nowhere, nowhere);
                if (command.get(0).equals("status")) status = rc;
            }
        } finally {
            Files.deleteIfExists(sock);
            Files.deleteIfExists(dir);
        }
        return status;
    }

    /** One request per connection, as the CLI sends them: the answer for its path, else 404. */
    private static void answer(ServerSocketChannel server) {
        while (server.isOpen()) {
            try (SocketChannel c = server.accept()) {
                String request = readHead(c);
                String[] words = request.split(" ", 3);
                String path = words.length > 1 ? words[1].replaceFirst("\\?.*", "") : "";
                String body = ANSWERS.get(path);
                String head = body == null ? "HTTP/1.1 404 Not Found" : "HTTP/1.1 200 OK";
                if (body == null) body = "{\"error\":\"not in the training run\"}";
                byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
                String response = head + "\r\nContent-Type: application/json\r\nContent-Length: " + bytes.length
                        + "\r\nConnection: close\r\n\r\n";
                c.write(ByteBuffer.wrap(response.getBytes(StandardCharsets.US_ASCII)));
                c.write(ByteBuffer.wrap(bytes));
            } catch (IOException e) {
                return; // the run is over
            }
        }
    }

    private static String readHead(SocketChannel c) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
        while (buf.hasRemaining()) {
            if (c.read(buf) < 0) break;
            String s = new String(buf.array(), 0, buf.position(), StandardCharsets.US_ASCII);
            if (s.contains("\r\n\r\n")) return s;
        }
        return new String(buf.array(), 0, buf.position(), StandardCharsets.US_ASCII);
    }
}
