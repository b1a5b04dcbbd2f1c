package io.septum.support.cgroup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Where the cgroup v2 hierarchy is mounted: {@code /sys/fs/cgroup} on a unified host, {@code /sys/fs/cgroup/unified}
 * on a hybrid one (systemd's legacy layout), anywhere an operator put it otherwise. Read from mountinfo, because the
 * path alone says nothing: on a hybrid host {@code /sys/fs/cgroup} is a tmpfs holding v1 hierarchies. The cgroup
 * source watches it, and the tests that put processes in a cgroup of their own make that cgroup under it.
 */
public final class CgroupMount {
    public static final Path MOUNTINFO = Path.of("/proc/self/mountinfo");
    private static final Path UNIFIED = Path.of("/sys/fs/cgroup");

    private CgroupMount() {
    }

    /** The cgroup2 mount point in {@code mountinfo}; {@code /sys/fs/cgroup} first, else the first one listed; null if none. */
    public static Path find(List<String> mountinfo) {
        List<Path> found = new ArrayList<>();
        for (String line : mountinfo) {
            // id parent major:minor root mountpoint options [optional fields...] - fstype source super-options
            String[] f = line.split(" ");
            int dash = -1;
            for (int i = 6; i < f.length; i++) {
                if (f[i].equals("-")) {
                    dash = i;
                    break;
                }
            }
            if (dash < 0 || dash + 1 >= f.length || f.length < 5) continue;
            if (f[dash + 1].equals("cgroup2")) found.add(Path.of(unescape(f[4])));
        }
        if (found.contains(UNIFIED)) return UNIFIED;
        return found.isEmpty() ? null : found.get(0);
    }

    /** The cgroup2 mount point of this host, as {@link #find(List)} finds it in {@link #MOUNTINFO}. */
    public static Path find() throws IOException {
        return find(Files.readAllLines(MOUNTINFO));
    }

    /** mountinfo escapes space, tab, newline and backslash as octal. */
    static String unescape(String s) {
        if (s.indexOf('\\') < 0) return s;
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length()) {
                try {
                    b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                    i += 3;
                    continue;
                } catch (NumberFormatException ignored) {
                    // not an escape
                }
            }
            b.append(c);
        }
        return b.toString();
    }
}
