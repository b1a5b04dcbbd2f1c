package io.septum.shell.internal;

import io.septum.api.shell.RemoteShell;
import io.septum.api.shell.ShellReply;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Converter;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;

/**
 * The agent's Gogo shell for {@code septum shell}: each session is a Gogo {@link CommandSession} of this agent, with
 * its own variables; one line at a time runs on a worker thread, bounded in time, and its output (what the commands
 * printed, and the result as the console would format it) is the reply. Sessions are bounded in number and end after
 * {@link #IDLE_MILLIS} unused. The REST API decides who may open one.
 */
@Component(service = {RemoteShell.class, SessionAuthors.class})
public final class RemoteShellComponent implements RemoteShell, SessionAuthors {
    /** A session unused this long ends. */
    static final long IDLE_MILLIS = TimeUnit.MINUTES.toMillis(30);
    /** How long one line may run. */
    static final long LINE_MILLIS = TimeUnit.SECONDS.toMillis(50); // under the CLI's 60 s request timeout
    private static final int MAX_SESSIONS = 16;
    /** What one line may print before the rest is cut. */
    private static final int MAX_OUTPUT = 4 << 20;

    private final CommandProcessor processor;
    private final SecureRandom random = new SecureRandom();
    private final ExecutorService lines = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "septum-remote-shell");
        t.setDaemon(true);
        return t;
    });
    private final Map<String, Remote> sessions = new LinkedHashMap<>();

    /** One remote session: its Gogo session, whose output goes to the buffer of the line running now. */
    private static final class Remote {
        final CommandSession session;
        final String author;
        final Capture out = new Capture();
        volatile long lastUsed = System.currentTimeMillis();

        Remote(CommandProcessor processor, String author) {
            PrintStream ps = new PrintStream(out, true, StandardCharsets.UTF_8);
            this.session = processor.createSession(new ByteArrayInputStream(new byte[0]), ps, ps);
            this.author = author;
        }
    }

    /** The output of the line running now, bounded. */
    private static final class Capture extends OutputStream {
        private ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        private boolean cut;

        @Override
        public synchronized void write(int b) {
            if (buffer.size() < MAX_OUTPUT) buffer.write(b);
            else cut = true;
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            int room = MAX_OUTPUT - buffer.size();
            if (len > room) cut = true;
            buffer.write(b, off, Math.max(0, Math.min(len, room)));
        }

        synchronized String take() {
            String s = buffer.toString(StandardCharsets.UTF_8) + (cut ? "\n(output cut at " + MAX_OUTPUT + " bytes)\n" : "");
            buffer = new ByteArrayOutputStream();
            cut = false;
            return s;
        }
    }

    @Activate
    public RemoteShellComponent(@Reference CommandProcessor processor) {
        this.processor = processor;
    }

    @Deactivate
    void deactivate() {
        synchronized (sessions) {
            for (Remote r : sessions.values()) r.session.close();
            sessions.clear();
        }
        lines.shutdownNow();
    }

    @Override
    public String open(String author) {
        if (author == null || author.isBlank()) throw new IllegalArgumentException("a shell session needs an author");
        synchronized (sessions) {
            expire();
            if (sessions.size() >= MAX_SESSIONS) {
                throw new IllegalStateException(MAX_SESSIONS + " shell sessions are open; close one (exit) or wait "
                        + TimeUnit.MILLISECONDS.toMinutes(IDLE_MILLIS) + " minutes for an unused one to end");
            }
            byte[] b = new byte[18];
            random.nextBytes(b);
            String id = Base64.getUrlEncoder().withoutPadding().encodeToString(b);
            sessions.put(id, new Remote(processor, author));
            return id;
        }
    }

    @Override
    public ShellReply execute(String id, String line) {
        Remote r;
        synchronized (sessions) {
            expire();
            r = sessions.get(id);
        }
        if (r == null) throw new NoSuchElementException("no shell session " + id + " (closed, or ended after "
                + TimeUnit.MILLISECONDS.toMinutes(IDLE_MILLIS) + " minutes unused)");
        synchronized (r) {
            r.lastUsed = System.currentTimeMillis();
            Future<String> run = lines.submit(() -> {
                Object result = r.session.execute(line);
                return result == null ? null : String.valueOf(r.session.format(result, Converter.INSPECT));
            });
            String error = null;
            String result = null;
            try {
                result = run.get(LINE_MILLIS, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                run.cancel(true);
                error = "the line ran longer than " + LINE_MILLIS / 1000 + " s and was interrupted (a command that"
                        + " follows, such as observe -f, is for the console, not a remote shell)";
            } catch (ExecutionException e) {
                Throwable c = e.getCause();
                error = c.getMessage() == null ? c.toString() : c.getMessage();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                run.cancel(true);
                error = "interrupted";
            }
            r.session.put("exception", null);
            String out = r.out.take();
            if (result != null) out = out + result + (result.endsWith("\n") ? "" : "\n");
            r.lastUsed = System.currentTimeMillis();
            return new ShellReply(out, error);
        }
    }

    @Override
    public void close(String id) {
        Remote r;
        synchronized (sessions) {
            r = sessions.remove(id);
        }
        if (r != null) r.session.close();
    }

    @Override
    @SuppressWarnings("unchecked")
    public List<String> commands() {
        CommandSession s = processor.createSession(new ByteArrayInputStream(new byte[0]), System.out, System.err);
        try {
            Object names = s.get(".commands");
            List<String> list = new ArrayList<>();
            if (names instanceof Collection<?> c) for (Object o : c) list.add(String.valueOf(o));
            list.sort(null);
            return list;
        } finally {
            s.close();
        }
    }

    @Override
    public String authorOf(CommandSession session) {
        synchronized (sessions) {
            for (Remote r : sessions.values()) if (r.session == session) return r.author;
        }
        return null;
    }

    /** Ends the sessions unused for too long. */
    private void expire() {
        long now = System.currentTimeMillis();
        for (Iterator<Remote> it = sessions.values().iterator(); it.hasNext(); ) {
            Remote r = it.next();
            if (now - r.lastUsed > IDLE_MILLIS) {
                it.remove();
                r.session.close();
            }
        }
    }
}
