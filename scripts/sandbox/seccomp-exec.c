/*
 * seccomp-exec: runs a command under the system-call restrictions of a systemd unit, for scripts/sandbox-run.sh,
 * which reads the unit and passes them on. The parts of systemd's sandbox that are seccomp filters:
 *   SystemCallFilter= (+ SystemCallErrorNumber=EPERM)  --allow FILE: the syscall names allowed, one a line;
 *                                                       every other syscall fails with EPERM
 *   RestrictAddressFamilies=                           --families AF_UNIX,AF_INET,...: socket() of another family
 *                                                       fails (EAFNOSUPPORT, as systemd answers)
 *   RestrictNamespaces=                                --namespaces net,mnt: unshare/clone/setns of other types fail;
 *                                                       clone3 fails with ENOSYS so that libc falls back to clone
 *   LockPersonality=yes                                --lock-personality: personality() only reads or keeps Linux
 *   RestrictRealtime=yes                               --restrict-realtime: no SCHED_FIFO, SCHED_RR, SCHED_DEADLINE
 *   RestrictSUIDSGID=yes                               --restrict-suid-sgid: chmod, creating opens, creat, mkdir
 *                                                       and mknod cannot set S_ISUID/S_ISGID (openat2: ENOSYS)
 *   SystemCallArchitectures=native                     always: the filter admits the native ABI only
 * Usage: seccomp-exec [options] -- COMMAND [ARG...]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static void die(const char *what, int rc) {
    fprintf(stderr, "seccomp-exec: %s: %s\n", what, strerror(rc < 0 ? -rc : rc));
    exit(126);
}

static void rule(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned n, const struct scmp_arg_cmp *cmp) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) return; /* not a syscall of this architecture */
    int rc = seccomp_rule_add_array(ctx, action, nr, n, cmp);
    if (rc < 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "rule for %s", name);
        die(msg, rc);
    }
}

static int family(const char *name) {
    static const struct { const char *name; int value; } known[] = {
        {"AF_UNIX", AF_UNIX}, {"AF_INET", AF_INET}, {"AF_INET6", AF_INET6}, {"AF_NETLINK", AF_NETLINK},
        {"AF_PACKET", AF_PACKET}, {"AF_VSOCK", AF_VSOCK}, {"AF_ALG", AF_ALG},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) if (strcmp(known[i].name, name) == 0) return known[i].value;
    fprintf(stderr, "seccomp-exec: unknown address family %s\n", name);
    exit(126);
}

static unsigned long nstype(const char *name) {
    static const struct { const char *name; unsigned long flag; } known[] = {
        {"cgroup", CLONE_NEWCGROUP}, {"ipc", CLONE_NEWIPC}, {"net", CLONE_NEWNET}, {"mnt", CLONE_NEWNS},
        {"pid", CLONE_NEWPID}, {"user", CLONE_NEWUSER}, {"uts", CLONE_NEWUTS}, {"time", CLONE_NEWTIME},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) if (strcmp(known[i].name, name) == 0) return known[i].flag;
    fprintf(stderr, "seccomp-exec: unknown namespace type %s\n", name);
    exit(126);
}

/* Syscalls whose arguments the options below judge: never allowed outright from the list. */
static const char *JUDGED[] = {"socket", "socketpair", "unshare", "clone", "clone3", "setns", "personality",
                               "sched_setscheduler", "chmod", "fchmod", "fchmodat", "fchmodat2", "open", "openat",
                               "openat2", "creat", "mkdir", "mkdirat", "mknod", "mknodat", NULL};

static int judged(const char *name) {
    for (int i = 0; JUDGED[i]; i++) if (strcmp(JUDGED[i], name) == 0) return 1;
    return 0;
}

/* The judged syscalls the allow list names: a bit per entry of JUDGED. */
static unsigned long listed;

static int is_listed(const char *name) {
    for (int i = 0; JUDGED[i]; i++) if (strcmp(JUDGED[i], name) == 0) return (listed >> i) & 1;
    return 0;
}

/* Allowed when the mode argument {@code arg} has no set-user-ID or set-group-ID bit (RestrictSUIDSGID). */
static void no_suid(scmp_filter_ctx ctx, const char *name, unsigned arg, int restrict_suid) {
    if (!is_listed(name)) return;
    struct scmp_arg_cmp c = {arg, SCMP_CMP_MASKED_EQ, S_ISUID | S_ISGID, 0};
    rule(ctx, SCMP_ACT_ALLOW, name, restrict_suid ? 1 : 0, &c);
}

/* open/openat: allowed when they create nothing, or create without set-user-ID or set-group-ID bits. */
static void no_suid_create(scmp_filter_ctx ctx, const char *name, unsigned flags_arg, int restrict_suid) {
    if (!is_listed(name)) return;
    if (!restrict_suid) {
        rule(ctx, SCMP_ACT_ALLOW, name, 0, NULL);
        return;
    }
    struct scmp_arg_cmp plain = {flags_arg, SCMP_CMP_MASKED_EQ, O_CREAT | __O_TMPFILE, 0};
    struct scmp_arg_cmp mode = {flags_arg + 1, SCMP_CMP_MASKED_EQ, S_ISUID | S_ISGID, 0};
    rule(ctx, SCMP_ACT_ALLOW, name, 1, &plain);
    rule(ctx, SCMP_ACT_ALLOW, name, 1, &mode);
}

int main(int argc, char **argv) {
    const char *allow = NULL;
    char *families = NULL, *namespaces = NULL;
    int lock_personality = 0, restrict_realtime = 0, restrict_suid = 0, i;
    for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--allow") == 0 && i + 1 < argc) allow = argv[++i];
        else if (strcmp(argv[i], "--families") == 0 && i + 1 < argc) families = argv[++i];
        else if (strcmp(argv[i], "--namespaces") == 0 && i + 1 < argc) namespaces = argv[++i];
        else if (strcmp(argv[i], "--lock-personality") == 0) lock_personality = 1;
        else if (strcmp(argv[i], "--restrict-realtime") == 0) restrict_realtime = 1;
        else if (strcmp(argv[i], "--restrict-suid-sgid") == 0) restrict_suid = 1;
        else { fprintf(stderr, "seccomp-exec: unknown argument %s\n", argv[i]); return 126; }
    }
    if (i + 1 >= argc || allow == NULL) {
        fprintf(stderr, "usage: seccomp-exec --allow FILE [--families LIST] [--namespaces LIST] [--lock-personality]"
                        " [--restrict-realtime] [--restrict-suid-sgid] -- COMMAND [ARG...]\n");
        return 126;
    }
    char **command = argv + i + 1;

    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
    if (!ctx) die("seccomp_init", ENOMEM);
    FILE *f = fopen(allow, "r");
    if (!f) die(allow, errno);
    char line[128];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, " \t\r\n")] = 0;
        if (!line[0] || line[0] == '#') continue;
        if (!judged(line)) { rule(ctx, SCMP_ACT_ALLOW, line, 0, NULL); continue; }
        for (int k = 0; JUDGED[k]; k++) if (strcmp(JUDGED[k], line) == 0) listed |= 1UL << k;
    }
    fclose(f);
    int listed_socket = is_listed("socket"), listed_clone = is_listed("clone") || is_listed("clone3"),
        listed_unshare = is_listed("unshare"), listed_setns = is_listed("setns"),
        listed_personality = is_listed("personality"), listed_sched = is_listed("sched_setscheduler");

    if (listed_socket) {
        if (!families) {
            rule(ctx, SCMP_ACT_ALLOW, "socket", 0, NULL);
            rule(ctx, SCMP_ACT_ALLOW, "socketpair", 0, NULL);
        } else {
            int allowed[16], n = 0;
            for (char *t = strtok(families, ","); t && n < 16; t = strtok(NULL, ",")) allowed[n++] = family(t);
            /* every family from 0 to AF_MAX that is not allowed gets EAFNOSUPPORT; allowed ones pass */
            for (int fam = 0; fam < AF_MAX; fam++) {
                int ok = 0;
                for (int k = 0; k < n; k++) ok |= allowed[k] == fam;
                struct scmp_arg_cmp c = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t) fam);
                rule(ctx, ok ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO(EAFNOSUPPORT), "socket", 1, &c);
                rule(ctx, ok ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO(EAFNOSUPPORT), "socketpair", 1, &c);
            }
        }
    }
    unsigned long forbidden = 0;
    if (namespaces) {
        forbidden = CLONE_NEWCGROUP | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUSER
                    | CLONE_NEWUTS | CLONE_NEWTIME;
        for (char *t = strtok(namespaces, ","); t; t = strtok(NULL, ",")) forbidden &= ~nstype(t);
    }
    if (listed_clone) {
        struct scmp_arg_cmp c = SCMP_A0(SCMP_CMP_MASKED_EQ, forbidden, 0);
        rule(ctx, SCMP_ACT_ALLOW, "clone", forbidden ? 1 : 0, &c);
        /* clone3 takes its flags in a struct a filter cannot read: systemd answers ENOSYS, libc falls back */
        rule(ctx, forbidden ? SCMP_ACT_ERRNO(ENOSYS) : SCMP_ACT_ALLOW, "clone3", 0, NULL);
    }
    if (listed_unshare) {
        struct scmp_arg_cmp c = SCMP_A0(SCMP_CMP_MASKED_EQ, forbidden, 0);
        rule(ctx, SCMP_ACT_ALLOW, "unshare", forbidden ? 1 : 0, &c);
    }
    if (listed_setns) {
        if (!forbidden) {
            rule(ctx, SCMP_ACT_ALLOW, "setns", 0, NULL);
        } else {
            /* one namespace type at a time, and only an allowed one (0, "any type", is refused) */
            unsigned long all[] = {CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID,
                                   CLONE_NEWUSER, CLONE_NEWUTS, CLONE_NEWTIME};
            for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) {
                if (all[k] & forbidden) continue;
                struct scmp_arg_cmp c = SCMP_A1(SCMP_CMP_EQ, all[k]);
                rule(ctx, SCMP_ACT_ALLOW, "setns", 1, &c);
            }
        }
    }
    if (listed_personality) {
        if (!lock_personality) {
            rule(ctx, SCMP_ACT_ALLOW, "personality", 0, NULL);
        } else {
            struct scmp_arg_cmp keep = SCMP_A0(SCMP_CMP_EQ, PER_LINUX), query = SCMP_A0(SCMP_CMP_EQ, 0xffffffffUL);
            rule(ctx, SCMP_ACT_ALLOW, "personality", 1, &keep);
            rule(ctx, SCMP_ACT_ALLOW, "personality", 1, &query);
        }
    }
    if (listed_sched) {
        if (!restrict_realtime) {
            rule(ctx, SCMP_ACT_ALLOW, "sched_setscheduler", 0, NULL);
        } else {
            int policies[] = {SCHED_OTHER, SCHED_BATCH, SCHED_IDLE};
            for (int k = 0; k < 3; k++) {
                struct scmp_arg_cmp c = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffUL, (scmp_datum_t) policies[k]);
                rule(ctx, SCMP_ACT_ALLOW, "sched_setscheduler", 1, &c);
            }
        }
    }
    /* RestrictSUIDSGID: no mode with S_ISUID/S_ISGID through chmod, creating opens, mkdir or mknod */
    no_suid(ctx, "chmod", 1, restrict_suid);
    no_suid(ctx, "fchmod", 1, restrict_suid);
    no_suid(ctx, "fchmodat", 2, restrict_suid);
    no_suid(ctx, "fchmodat2", 2, restrict_suid);
    no_suid(ctx, "creat", 1, restrict_suid);
    no_suid(ctx, "mkdir", 1, restrict_suid);
    no_suid(ctx, "mkdirat", 2, restrict_suid);
    no_suid(ctx, "mknod", 1, restrict_suid);
    no_suid(ctx, "mknodat", 2, restrict_suid);
    no_suid_create(ctx, "open", 1, restrict_suid);
    no_suid_create(ctx, "openat", 2, restrict_suid);
    /* openat2 takes its mode in a struct: refused with ENOSYS, libc falls back to openat (as systemd does) */
    if (is_listed("openat2")) rule(ctx, restrict_suid ? SCMP_ACT_ERRNO(ENOSYS) : SCMP_ACT_ALLOW, "openat2", 0, NULL);
    int rc = seccomp_load(ctx);
    if (rc < 0) die("seccomp_load", rc);
    seccomp_release(ctx);
    execvp(command[0], command);
    fprintf(stderr, "seccomp-exec: cannot run %s: %s\n", command[0], strerror(errno));
    return 127;
}
