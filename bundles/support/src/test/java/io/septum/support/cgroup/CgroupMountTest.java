package io.septum.support.cgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class CgroupMountTest {
    @Test
    void findsTheCgroup2MountOnUnifiedAndHybridHosts() {
        String hybrid = """
                30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
                31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
                40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
                """;
        assertEquals(Path.of("/sys/fs/cgroup/unified"), CgroupMount.find(hybrid.lines().toList()));
        String unified = """
                25 30 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate
                99 25 0:22 / /run/other rw shared:9 - cgroup2 cgroup2 rw
                """;
        assertEquals(Path.of("/sys/fs/cgroup"), CgroupMount.find(unified.lines().toList()));
        assertEquals(Path.of("/mnt/my cg"), CgroupMount.find(List.of("1 2 0:3 / /mnt/my\\040cg rw - cgroup2 none rw")));
        assertNull(CgroupMount.find(List.of("31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu")));
    }
}
