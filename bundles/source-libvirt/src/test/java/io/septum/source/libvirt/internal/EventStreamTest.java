package io.septum.source.libvirt.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import io.septum.testsupport.Await;

/** The child process side, with a shell script in place of virsh. */
class EventStreamTest {
    static final class Recorder implements EventStream.Listener {
        final List<DomainEvent> events = new CopyOnWriteArrayList<>();
        final List<String> ended = new CopyOnWriteArrayList<>();

        @Override
        public void event(DomainEvent event) {
            events.add(event);
        }

        @Override
        public void ended(String reason) {
            ended.add(reason);
        }
    }

    @Test
    void deliversEventsInOrderThenTheReasonItEnded() throws Exception {
        Recorder r = new Recorder();
        try (EventStream s = new EventStream(List.of("/bin/sh", "-c", """
                echo "2026-11-27 08:48:01.256+0000: event 'lifecycle' for domain 'a': Started Booted"
                printf '\\tnot an event\\n'
                echo "event 'metadata-change' for domain 'b': type element, uri https://septum.io/libvirt/1"
                echo "error: Disconnected from lxc:///system due to end of file" >&2
                exit 1
                """), r)) {
            s.start();
            assertTrue(await(() -> !r.ended.isEmpty()), "ended");
            assertEquals(List.of("a", "b"), r.events.stream().map(DomainEvent::domain).toList());
            assertEquals(1, r.ended.size());
            String reason = r.ended.get(0);
            assertTrue(reason.contains("exited with status 1") && reason.contains("after 2 event(s)")
                    && reason.contains("Disconnected from lxc:///system due to end of file"), reason);
        }
    }

    @Test
    void closeKillsTheChildAndReportsNothing(@TempDir Path tmp) throws Exception {
        Recorder r = new Recorder();
        EventStream s = new EventStream(List.of("/bin/sh", "-c", "echo $$ > " + tmp.resolve("pid") + "; exec sleep 600"), r);
        s.start();
        assertTrue(await(() -> Files.exists(tmp.resolve("pid"))));
        ProcessHandle child = ProcessHandle.of(s.pid()).orElseThrow();
        assertTrue(child.isAlive());
        s.close();
        assertFalse(child.isAlive(), "killed on close");
        Thread.sleep(200); // the reader thread has seen EOF by now; it must stay silent after close
        assertEquals(List.of(), r.ended);
    }

    @Test
    void theCommandIsReadOnlyAndDiesWithItsParent() {
        List<String> cmd = EventStream.virshCommand("virsh", "lxc:///system");
        assertEquals(List.of("virsh", "-r", "-c", "lxc:///system", "event", "--all", "--loop", "--timestamp"),
                cmd.subList(cmd.indexOf("virsh"), cmd.size()));
        if (Files.isExecutable(Path.of("/usr/bin/setpriv"))) {
            assertEquals(List.of("/usr/bin/setpriv", "--pdeathsig", "KILL"), cmd.subList(0, 3));
        }
    }

    static boolean await(BooleanSupplier c) throws InterruptedException {
        return Await.within(Duration.ofSeconds(10), c);
    }
}
