package io.septum.apiserver.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * Who may change the agent through the API socket. Reading needs only the socket (mode 0660, its group); a request
 * that changes something needs root or membership of the admin group ({@code adminGroup}, default
 * {@code septum-admin}), judged from the kernel's view of the caller ({@link UnixCaller}: uid and primary group from
 * {@code SO_PEERCRED}, supplementary groups from {@code /proc/PID/status}, used only while that process still has
 * the caller's uid). Anything else gets 403 and nothing changes.
 *
 * <p>A write is any POST, PUT, DELETE or PATCH, except the POSTs that only compute an answer: {@code policy trace},
 * {@code validate}, {@code impact} and {@code diff}.
 */
final class WriteAccess {
    static final String DEFAULT_ADMIN_GROUP = "septum-admin";
    private static final Set<String> WRITE_METHODS = Set.of("POST", "PUT", "DELETE", "PATCH");
    private static final Set<String> READ_ONLY_POSTS = Set.of("/v1/policy/trace", "/v1/policy/validate",
            "/v1/policy/impact", "/v1/policy/diff");

    private final String adminGroup;
    private final Path groupFile;
    private final Path proc;

    WriteAccess(String adminGroup) {
        this(adminGroup, Path.of("/etc/group"), Path.of("/proc"));
    }

    WriteAccess(String adminGroup, Path groupFile, Path proc) {
        this.adminGroup = adminGroup == null ? "" : adminGroup.strip();
        this.groupFile = groupFile;
        this.proc = proc;
    }

    static boolean isWrite(HttpRequest req) {
        return WRITE_METHODS.contains(req.method()) && !READ_ONLY_POSTS.contains(req.rawPath());
    }

    /** Null when {@code req} may go on; otherwise why it may not (the 403's message). */
    String refusal(HttpRequest req) {
        if (!isWrite(req)) return null;
        UnixCaller.Peer p = req.caller();
        if (p != null && (p.uid() == 0 || inAdminGroup(p))) return null;
        return (p == null ? "the caller is unknown" : p.name() + " is neither root nor in group "
                + (adminGroup.isEmpty() ? "(none configured)" : adminGroup)) + ": " + req.method() + " " + req.rawPath()
                + " changes the agent, which needs root or the admin group (adminGroup in etc/io.septum.apiserver.cfg);"
                + " reading needs only the socket's group";
    }

    private boolean inAdminGroup(UnixCaller.Peer p) {
        int gid = adminGid();
        if (gid < 0) return false;
        if (p.gid() == gid) return true;
        try {
            List<String> status = Files.readAllLines(proc.resolve(Integer.toString(p.pid())).resolve("status"),
                    StandardCharsets.UTF_8);
            boolean sameUser = false;
            boolean member = false;
            for (String line : status) {
                // Uid: real effective saved fs; a pid reused by another user's process must not lend its groups
                if (line.startsWith("Uid:")) sameUser = line.substring(4).strip().split("\\s+")[1].equals(Integer.toString(p.uid()));
                if (line.startsWith("Groups:")) {
                    for (String g : line.substring(7).strip().split("\\s+")) member |= g.equals(Integer.toString(gid));
                }
            }
            return sameUser && member;
        } catch (IOException | RuntimeException e) {
            return false; // the process is gone: only what the kernel gave at connect counts
        }
    }

    /** The admin group's id from the group file, -1 when none is configured or it does not exist. */
    private int adminGid() {
        if (adminGroup.isEmpty()) return -1;
        try {
            for (String line : Files.readAllLines(groupFile, StandardCharsets.UTF_8)) {
                String[] f = line.split(":", -1);
                if (f.length > 2 && f[0].equals(adminGroup)) return Integer.parseInt(f[2]);
            }
        } catch (IOException | RuntimeException e) {
            // no group file: no admin group
        }
        return -1;
    }
}
