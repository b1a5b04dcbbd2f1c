package io.septum.apiserver.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UnixCallerTest {
    @TempDir
    Path dir;

    @Test
    void namesAUidFromThePasswdFileOrGivesTheNumber() throws Exception {
        Path passwd = dir.resolve("passwd");
        Files.writeString(passwd, "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\nbroken\n");
        assertEquals("uid 0 (root)", UnixCaller.describe(0, passwd));
        assertEquals("uid 1000 (alice)", UnixCaller.describe(1000, passwd));
        assertEquals("uid 100", UnixCaller.describe(100, passwd), "10 must not match 100 or 1000");
        assertEquals("uid 7", UnixCaller.describe(7, dir.resolve("missing")));
    }
}
