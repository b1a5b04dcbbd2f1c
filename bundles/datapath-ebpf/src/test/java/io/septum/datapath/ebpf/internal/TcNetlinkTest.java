package io.septum.datapath.ebpf.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Runtime;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * tc's rtnetlink requests against the kernel, on a veth pair this test makes and removes: the kernel's errors
 * come back with its reasons, and a request the kernel does not answer ends at the deadline, sent once more.
 * Attaching programs is covered where the programs are loaded (DatapathPacketTest, HostFirewallPacketTest).
 */
class TcNetlinkTest {
    private static final int HANDLE = 0x5e97, PRIORITY = 7;
    private final String dev = "sept-nl" + String.format("%04x", ThreadLocalRandom.current().nextInt(0x10000));
    private LibC libc;
    private Runtime runtime;
    private int ifindex;

    @BeforeEach
    void dummy() throws Exception {
        libc = LibraryLoader.create(LibC.class).failImmediately().load("c");
        runtime = Runtime.getRuntime(libc);
        NetLab.sh("ip", "link", "add", dev, "type", "veth", "peer", "name", dev + "p");
        ifindex = Integer.parseInt(Files.readString(Path.of("/sys/class/net", dev, "ifindex")).trim());
    }

    @AfterEach
    void remove() throws Exception {
        if (ifindex > 0) NetLab.sh("ip", "link", "del", dev); // and its peer
    }

    @Test
    void theKernelsErrorsComeBackWithItsReasons() {
        TcNetlink nl = new TcNetlink(libc, runtime, 3000);
        assertEquals(0, nl.createClsact(ifindex).errno());
        TcNetlink.Result again = nl.createClsact(ifindex);
        assertEquals(17, again.errno(), again.describe());
        assertTrue(again.describe().startsWith("EEXIST"), again.describe());

        // no filter on the hook yet: the kernel finds no chain (EINVAL) and says so
        TcNetlink.Result none = nl.query(ifindex, true, HANDLE, PRIORITY);
        assertEquals(22, none.errno(), none.describe());
        assertTrue(none.describe().contains("chain"), none.describe());
        assertEquals(0, none.progId());
        assertTrue(nl.detach(ifindex, false, HANDLE, PRIORITY).errno() != 0);

        TcNetlink.Result noDevice = nl.createClsact(0x7ffffff0);
        assertEquals(19, noDevice.errno(), noDevice.describe());
        // a program fd that is no program: the kernel says why, in its words
        TcNetlink.Result notAProgram = nl.attach(ifindex, true, HANDLE, PRIORITY, 0, "septum_test");
        assertTrue(notAProgram.errno() != 0, notAProgram.describe());
    }

    @Test
    void aRequestTheKernelDoesNotAnswerEndsAtTheDeadlineAfterOneMoreTry() {
        TcNetlink nl = new TcNetlink(libc, runtime, 300);
        assertEquals(0, nl.createClsact(ifindex).errno());
        // "tc qdisc replace ... clsact" on the same qdisc succeeds, and without NLM_F_ACK nothing is answered
        int[] sent = {0};
        long start = System.nanoTime();
        TcNetlink.Result r = nl.transact(s -> {
            sent[0]++;
            return TcNetlink.qdisc(s, ifindex, TcNetlink.NLM_F_REQUEST | TcNetlink.NLM_F_CREATE | TcNetlink.NLM_F_REPLACE);
        });
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertEquals(TcNetlink.ETIMEDOUT, r.errno(), r.describe());
        assertEquals(2, sent[0]);
        assertTrue(millis >= 600, "returned after " + millis + " ms, before two deadlines of 300 ms");
        assertTrue(r.describe().contains("did not answer"), r.describe());

        // the first try unanswered, the second answered (an error is always answered): the second counts
        int[] tries = {0};
        TcNetlink.Result second = nl.transact(s -> TcNetlink.qdisc(s, ifindex, ++tries[0] == 1
                ? TcNetlink.NLM_F_REQUEST | TcNetlink.NLM_F_CREATE | TcNetlink.NLM_F_REPLACE
                : TcNetlink.NLM_F_REQUEST | TcNetlink.NLM_F_ACK | TcNetlink.NLM_F_CREATE | TcNetlink.NLM_F_EXCL));
        assertEquals(17, second.errno(), second.describe());
        assertEquals(2, tries[0]);
    }
}
