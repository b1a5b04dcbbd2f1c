import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The policy client of scripts/bench-datapath.sh's latency run: one JVM, started once
 * ({@code java scripts/bench/ApiCall.java SOCKET}, JDK 17 source launcher) and driven over stdin/stdout, that sends
 * one HTTP/1.1 request per command to the agent's unix socket. It stamps the time just before it writes the request,
 * so that an import's latency starts when the agent can first see it, not before a client process has started
 * (curl's start-up alone was about 20 ms idle and 45 ms beside the probe on 2 vCPUs).
 *
 * <pre>
 * post PATH ORIGIN FILE   POST the YAML file to PATH (X-Septum-Origin: ORIGIN); FILE is the rest of the line
 * delete PATH             DELETE PATH
 * quit                    exit
 * </pre>
 * Each answers one line: "ok SENT_NANOS ANSWERED_NANOS REVISION" (wall-clock nanoseconds since the epoch, comparable
 * with bash's $EPOCHREALTIME and LatencyProbe's; REVISION is the answer's "revision", -1 without one) or "error
 * TEXT" (a status other than 2xx: its code and the start of the body). On start it prints "ready".
 */
public final class ApiCall {
    private static final Pattern REVISION = Pattern.compile("\"revision\"\\s*:\\s*(\\d+)");

    private final UnixDomainSocketAddress socket;

    private ApiCall(Path socket) {
        this.socket = UnixDomainSocketAddress.of(socket);
    }

    private static long nowNanos() {
        Instant t = Instant.now();
        return t.getEpochSecond() * 1_000_000_000L + t.getNano();
    }

    private String call(String method, String path, byte[] body, String origin) throws IOException {
        StringBuilder head = new StringBuilder(method).append(' ').append(path).append(" HTTP/1.1\r\n")
                .append("Host: septum\r\nConnection: close\r\nContent-Length: ").append(body.length).append("\r\n");
        if (origin != null) {
            head.append("Content-Type: application/yaml\r\nX-Septum-Origin: ").append(origin).append("\r\n");
        }
        byte[] h = head.append("\r\n").toString().getBytes(StandardCharsets.US_ASCII);
        ByteBuffer request = ByteBuffer.allocate(h.length + body.length).put(h).put(body).flip();
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(socket);
            long sent = nowNanos();
            while (request.hasRemaining()) ch.write(request);
            ByteArrayOutputStream answer = new ByteArrayOutputStream();
            ByteBuffer buf = ByteBuffer.allocate(8192);
            while (ch.read(buf) >= 0) {
                answer.write(buf.array(), 0, buf.position());
                buf.clear();
            }
            long answered = nowNanos();
            String text = answer.toString(StandardCharsets.UTF_8);
            String status = text.length() >= 12 ? text.substring(9, 12) : "";
            if (!status.startsWith("2")) {
                String firstLine = text.lines().findFirst().orElse("no answer");
                int bodyAt = text.indexOf("\r\n\r\n");
                String bodyStart = bodyAt < 0 ? "" : text.substring(bodyAt + 4).replaceAll("\\s+", " ");
                return "error " + firstLine + " " + bodyStart.substring(0, Math.min(200, bodyStart.length()));
            }
            Matcher m = REVISION.matcher(text);
            return "ok " + sent + " " + answered + " " + (m.find() ? m.group(1) : "-1");
        }
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: ApiCall SOCKET");
            System.exit(2);
        }
        ApiCall api = new ApiCall(Path.of(args[0]));
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        // warm the client's path (class loading, JIT) before the first measurement
        for (int i = 0; i < 20; i++) api.call("GET", "/v1/status", new byte[0], null);
        out.println("ready");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            String[] f = line.trim().split("\\s+", 4);
            try {
                if (f[0].equals("post") && f.length == 4) {
                    out.println(api.call("POST", f[1], Files.readAllBytes(Path.of(f[3])), f[2]));
                } else if (f[0].equals("delete") && f.length == 2) {
                    out.println(api.call("DELETE", f[1], new byte[0], null));
                } else if (f[0].equals("quit")) {
                    return;
                } else {
                    out.println("error unknown command: " + line);
                }
            } catch (IOException | RuntimeException e) {
                out.println("error " + e);
            }
        }
    }
}
