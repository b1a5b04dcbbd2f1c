package io.septum.datapath.ebpf.internal;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.datapath.DatapathException;
import io.septum.testsupport.RequiresRoot;
import io.septum.testsupport.TestFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A program the verifier rejects: the exception carries the verifier's explanation, not just "-EACCES". */
class VerifierLogTest {
    @Test
    @RequiresRoot("bpf")
    void aRejectedProgramReportsTheVerifierLog() throws Exception {
        Path src = Path.of("../../bpf/src").toAbsolutePath().normalize();
        Path dir = Files.createTempDirectory("sept-t-verifier");
        Path pins = Path.of("/sys/fs/bpf/sept-t" + String.format("%04x", ThreadLocalRandom.current().nextInt(0x10000)) + "-verifier");
        try {
            Path c = dir.resolve("broken.bpf.c");
            Files.writeString(c, """
                    #include <linux/bpf.h>
                    #include <linux/pkt_cls.h>
                    #include <bpf/bpf_helpers.h>
                    #include "lib/maps.h"
                    #include "lib/lb.h"
                    #include "lib/proxy.h"
                    SEC("tc") int septum_from_ep(struct __sk_buff *skb)
                    {
                        unsigned char *data = (void *)(long)skb->data;
                        return data[20]; /* no bounds check: the verifier must refuse this */
                    }
                    SEC("tc") int septum_to_ep(struct __sk_buff *skb) { return TC_ACT_OK; }
                    SEC("tc") int septum_to_proxy(struct __sk_buff *skb) { return TC_ACT_OK; }
                    char _license[] SEC("license") = "GPL";
                    """);
            Path o = dir.resolve("broken.bpf.o");
            Process p = new ProcessBuilder("clang", "-O2", "-g", "-target", "bpf", "-I/usr/include/x86_64-linux-gnu",
                    "-I" + src, "-c", c.toString(), "-o", o.toString()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            assertTrue(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0, out);
            EbpfDatapath dp = new EbpfDatapath(pins, Files.readAllBytes(o), e -> { });
            DatapathException e = assertThrows(DatapathException.class, dp::open);
            assertTrue(e.getMessage().contains("EACCES") && e.getMessage().contains("invalid access to packet"), e.getMessage());
            dp.close();
        } finally {
            for (Path root : new Path[] {dir, pins}) {
                TestFiles.deleteTree(root);
            }
        }
    }
}
