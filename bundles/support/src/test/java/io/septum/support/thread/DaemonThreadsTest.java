package io.septum.support.thread;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class DaemonThreadsTest {
    @Test
    void numberedThreadsCountFromOneAndAreDaemons() {
        ThreadFactory f = DaemonThreads.numbered("septum-test");
        Thread a = f.newThread(() -> { });
        Thread b = f.newThread(() -> { });
        assertEquals("septum-test-1", a.getName());
        assertEquals("septum-test-2", b.getName());
        assertTrue(a.isDaemon() && b.isDaemon());
        assertEquals("septum-test-1", DaemonThreads.numbered("septum-test").newThread(() -> { }).getName(),
                "each factory counts on its own");
    }

    @Test
    void namedThreadsAllHaveTheName() {
        ThreadFactory f = DaemonThreads.named("septum-one");
        assertEquals("septum-one", f.newThread(() -> { }).getName());
        assertEquals("septum-one", f.newThread(() -> { }).getName());
        assertTrue(f.newThread(() -> { }).isDaemon());
    }

    @Test
    void startRunsTheTaskOnAStartedDaemon() throws Exception {
        CompletableFuture<String> ran = new CompletableFuture<>();
        Thread t = DaemonThreads.start("septum-started", () -> ran.complete(Thread.currentThread().getName()));
        assertEquals("septum-started", ran.get(5, TimeUnit.SECONDS));
        assertTrue(t.isDaemon());
        t.join(5_000);
    }
}
