package io.septum.datapath.ebpf.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;
import jnr.ffi.LastError;
import jnr.ffi.Runtime;

/**
 * tc's rtnetlink requests (the clsact qdisc, bpf filters) with a deadline. libbpf's {@code bpf_tc_*} wait for the
 * kernel's answer without one, and once an answer that never came (most likely read by another thread through a
 * stale descriptor number, see the DNS proxy's UpstreamHandler) held an agent's datapath lock for good. Each
 * request has a socket of its own; one unanswered by the deadline is sent once more on a new socket (every request
 * here may be repeated: creation tolerates EEXIST, attachment replaces, removal tolerates ENOENT), then reported
 * as {@link #ETIMEDOUT}. Sending itself is not bounded: the kernel handles a request while it is sent.
 */
final class TcNetlink {
    static final int ETIMEDOUT = 110;
    static final int NLM_F_REQUEST = 1, NLM_F_ACK = 4, NLM_F_REPLACE = 0x100, NLM_F_EXCL = 0x200, NLM_F_CREATE = 0x400;
    private static final int AF_NETLINK = 16, SOCK_RAW = 3, SOCK_CLOEXEC = 0x80000, NETLINK_ROUTE = 0;
    private static final int SOL_SOCKET = 1, SO_RCVTIMEO = 20, SOL_NETLINK = 270, NETLINK_CAP_ACK = 10, NETLINK_EXT_ACK = 11;
    /** On an error message: the request was cut to its header; extended-ack attributes follow it. */
    private static final int NLM_F_CAPPED = 0x100, NLM_F_ACK_TLVS = 0x200, NLMSGERR_ATTR_MSG = 1;
    private static final int NLMSG_ERROR = 2, NLMSG_DONE = 3;
    private static final int RTM_NEWQDISC = 36, RTM_NEWTFILTER = 44, RTM_DELTFILTER = 45, RTM_GETTFILTER = 46;
    private static final int TCA_KIND = 1, TCA_OPTIONS = 2, NLA_F_NESTED = 0x8000;
    private static final int TCA_BPF_FD = 6, TCA_BPF_NAME = 7, TCA_BPF_FLAGS = 8, TCA_BPF_ID = 11, TCA_BPF_FLAG_ACT_DIRECT = 1;
    private static final int TC_H_CLSACT = 0xFFFFFFF1, TC_H_MIN_INGRESS = 0xFFF2, TC_H_MIN_EGRESS = 0xFFF3;
    /** ETH_P_ALL (3) in network byte order, as tc's filters carry it in tcm_info's low half (a host-order u32). */
    private static final int ETH_P_ALL_BE = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN ? 0x0300 : 0x0003;
    private static final int EINTR = 4, EAGAIN = 11, EPROTO = 71;
    private static final int HEADER = 16, TCMSG = 20;

    /** errno 0 for success; the kernel's extended-ack message or ""; the filter's program id (queries only). */
    record Result(int errno, String message, long progId) {
        boolean ok() {
            return errno == 0;
        }

        /** The errno's name with the kernel's own words, for messages. */
        String describe() {
            String what = errno == ETIMEDOUT ? "ETIMEDOUT (the kernel did not answer the rtnetlink request, twice)"
                    : BpfErrors.errno(errno);
            return message.isEmpty() ? what : what + ": " + message;
        }
    }

    private final LibC libc;
    private final Runtime runtime;
    private final long timeoutNanos;
    private final AtomicInteger seq = new AtomicInteger((int) (System.nanoTime() & 0x3fffffff));

    TcNetlink(LibC libc, Runtime runtime, long timeoutMillis) {
        this.libc = libc;
        this.runtime = runtime;
        this.timeoutNanos = TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    }

    /** {@code tc qdisc add dev X clsact}: EEXIST when the interface has one. */
    Result createClsact(int ifindex) {
        return transact(s -> qdisc(s, ifindex, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL));
    }

    /** Our filter on a clsact hook, direct action, replacing the one with the same handle and priority. */
    Result attach(int ifindex, boolean ingress, int handle, int priority, int progFd, String name) {
        return transact(s -> {
            ByteBuffer b = filter(s, RTM_NEWTFILTER, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE,
                    ifindex, ingress, handle, priority);
            attr(b, TCA_KIND, cstring("bpf"));
            int options = beginNested(b, TCA_OPTIONS);
            attr(b, TCA_BPF_FD, u32(progFd));
            attr(b, TCA_BPF_NAME, cstring(name));
            attr(b, TCA_BPF_FLAGS, u32(TCA_BPF_FLAG_ACT_DIRECT));
            endNested(b, options);
            return finish(b);
        });
    }

    /** Removes only the filter with that handle and priority: ENOENT when there is none. */
    Result detach(int ifindex, boolean ingress, int handle, int priority) {
        return transact(s -> {
            ByteBuffer b = filter(s, RTM_DELTFILTER, NLM_F_REQUEST | NLM_F_ACK, ifindex, ingress, handle, priority);
            attr(b, TCA_KIND, cstring("bpf"));
            return finish(b);
        });
    }

    /**
     * The program id of the filter with that handle and priority ({@link Result#progId}); an error when there is none
     * (ENOENT, or EINVAL with "Cannot find specified filter chain" when the hook holds no filter at all).
     */
    Result query(int ifindex, boolean ingress, int handle, int priority) {
        return transact(s -> {
            ByteBuffer b = filter(s, RTM_GETTFILTER, NLM_F_REQUEST | NLM_F_ACK, ifindex, ingress, handle, priority);
            attr(b, TCA_KIND, cstring("bpf"));
            return finish(b);
        });
    }

    /** Sends the request {@code build} makes for a sequence number and waits for its answer, twice at most. */
    Result transact(IntFunction<byte[]> build) {
        Result r = null;
        for (int attempt = 0; attempt < 2; attempt++) {
            int s = seq.incrementAndGet() & 0x7fffffff;
            r = once(build.apply(s), s);
            if (r.errno() != ETIMEDOUT) return r;
        }
        return r;
    }

    private Result once(byte[] request, int s) {
        int fd = libc.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        if (fd < 0) return new Result(LastError.getLastError(runtime), "cannot open an rtnetlink socket", 0);
        try {
            // the answer to an error carries only the request's header, and the kernel's reason as an attribute
            libc.setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, u32(1), 4);
            libc.setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, u32(1), 4);
            if (libc.send(fd, request, request.length, 0) < 0) {
                return new Result(LastError.getLastError(runtime), "cannot send the rtnetlink request", 0);
            }
            return answer(fd, s, System.nanoTime() + timeoutNanos);
        } finally {
            libc.close(fd);
        }
    }

    private Result answer(int fd, int s, long deadline) {
        byte[] buf = new byte[32 * 1024];
        long progId = 0;
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) return new Result(ETIMEDOUT, "", 0);
            if (libc.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, timeval(left), 16) < 0) {
                return new Result(LastError.getLastError(runtime), "cannot set the receive timeout", 0); // else no bound
            }
            long n = libc.recv(fd, buf, buf.length, 0);
            if (n < 0) {
                int e = LastError.getLastError(runtime);
                if (e == EAGAIN || e == EINTR) continue; // the receive timeout, or a signal: the deadline decides
                return new Result(e, "cannot receive the rtnetlink answer", 0);
            }
            ByteBuffer r = ByteBuffer.wrap(buf, 0, (int) n).order(ByteOrder.nativeOrder());
            while (r.remaining() >= HEADER) {
                int start = r.position();
                int len = r.getInt();
                int type = r.getShort() & 0xffff;
                int flags = r.getShort() & 0xffff;
                int mseq = r.getInt();
                if (len < HEADER || len > n - start) return new Result(EPROTO, "a malformed rtnetlink answer", 0);
                if (mseq == s) {
                    if (type == NLMSG_ERROR) {
                        r.position(start + HEADER);
                        int err = -r.getInt();
                        // the request comes back whole, unless capped (NETLINK_CAP_ACK, Linux 4.3+): its header only
                        int echoed = (flags & NLM_F_CAPPED) != 0 ? HEADER : align(r.getInt(start + HEADER + 4));
                        String why = (flags & NLM_F_ACK_TLVS) != 0 ? extackMessage(r, start + HEADER + 4 + echoed, start + len) : "";
                        return new Result(err, why, progId);
                    }
                    if (type == NLMSG_DONE) return new Result(0, "", progId);
                    if (type == RTM_NEWTFILTER) progId = progId(r, start + HEADER + TCMSG, start + len);
                }
                r.position(Math.min((int) n, start + align(len)));
            }
        }
    }

    private static String extackMessage(ByteBuffer r, int from, int to) {
        for (int at = from; at + 4 <= to; ) {
            int len = r.getShort(at) & 0xffff, type = r.getShort(at + 2) & 0x3fff;
            if (len < 4 || at + len > to) break;
            if (type == NLMSGERR_ATTR_MSG) {
                int end = at + len;
                while (end > at + 4 && r.get(end - 1) == 0) end--;
                byte[] text = new byte[end - at - 4];
                r.get(at + 4, text);
                return new String(text, StandardCharsets.UTF_8);
            }
            at += align(len);
        }
        return "";
    }

    /** TCA_OPTIONS' TCA_BPF_ID in a filter message's attributes, or 0. */
    private static long progId(ByteBuffer r, int from, int to) {
        for (int at = from; at + 4 <= to; ) {
            int len = r.getShort(at) & 0xffff, type = r.getShort(at + 2) & 0x3fff;
            if (len < 4 || at + len > to) break;
            if (type == TCA_OPTIONS) {
                for (int in = at + 4; in + 4 <= at + len; ) {
                    int l = r.getShort(in) & 0xffff, t = r.getShort(in + 2) & 0x3fff;
                    if (l < 4 || in + l > at + len) break;
                    if (t == TCA_BPF_ID && l >= 8) return r.getInt(in + 4) & 0xffffffffL;
                    in += align(l);
                }
            }
            at += align(len);
        }
        return 0;
    }

    /** An RTM_NEWQDISC request for the clsact qdisc (package-private: a test sends it without asking for an ack). */
    static byte[] qdisc(int s, int ifindex, int flags) {
        ByteBuffer b = header(s, RTM_NEWQDISC, flags);
        tcmsg(b, ifindex, 0xFFFF0000, TC_H_CLSACT, 0);
        attr(b, TCA_KIND, cstring("clsact"));
        return finish(b);
    }

    private static ByteBuffer filter(int s, int type, int flags, int ifindex, boolean ingress, int handle, int priority) {
        ByteBuffer b = header(s, type, flags);
        tcmsg(b, ifindex, handle, (TC_H_CLSACT & 0xFFFF0000) | (ingress ? TC_H_MIN_INGRESS : TC_H_MIN_EGRESS),
                priority << 16 | ETH_P_ALL_BE);
        return b;
    }

    private static ByteBuffer header(int s, int type, int flags) {
        ByteBuffer b = ByteBuffer.allocate(512).order(ByteOrder.nativeOrder());
        b.putInt(0).putShort((short) type).putShort((short) flags).putInt(s).putInt(0);
        return b;
    }

    private static void tcmsg(ByteBuffer b, int ifindex, int handle, int parent, int info) {
        b.put((byte) 0).put((byte) 0).putShort((short) 0).putInt(ifindex).putInt(handle).putInt(parent).putInt(info);
    }

    private static void attr(ByteBuffer b, int type, byte[] value) {
        b.putShort((short) (4 + value.length)).putShort((short) type).put(value);
        while (b.position() % 4 != 0) b.put((byte) 0);
    }

    private static int beginNested(ByteBuffer b, int type) {
        int at = b.position();
        b.putShort((short) 0).putShort((short) (type | NLA_F_NESTED));
        return at;
    }

    private static void endNested(ByteBuffer b, int at) {
        b.putShort(at, (short) (b.position() - at));
    }

    private static byte[] finish(ByteBuffer b) {
        b.putInt(0, b.position());
        byte[] out = new byte[b.position()];
        b.get(0, out);
        return out;
    }

    private static int align(int len) {
        return (len + 3) & ~3;
    }

    private static byte[] u32(int v) {
        return ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(v).array();
    }

    private static byte[] cstring(String s) {
        byte[] text = s.getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[text.length + 1];
        System.arraycopy(text, 0, out, 0, text.length);
        return out;
    }

    /** A struct timeval of at least a millisecond: zero would mean no timeout at all. */
    private static byte[] timeval(long nanos) {
        long micros = Math.max(1000, TimeUnit.NANOSECONDS.toMicros(nanos));
        return ByteBuffer.allocate(16).order(ByteOrder.nativeOrder()).putLong(micros / 1_000_000).putLong(micros % 1_000_000).array();
    }
}
