package io.septum.datapath.ebpf.internal;

import java.util.logging.Level;
import java.util.logging.Logger;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;

/**
 * libbpf's log, routed to java.util.logging, with a capture of what one load said (where the verifier names the
 * bad instruction) for exception messages.
 */
final class LibbpfLog {
    private static final Logger LOG = Logger.getLogger(EbpfDatapath.class.getName());
    private static final int BUF = 64 * 1024;
    private static final int TAIL = 4000;

    private final LibBpf lib;
    private final LibC libc;
    private final Runtime runtime;
    private final StringBuilder capture = new StringBuilder();
    private volatile boolean capturing;
    private LibBpf.PrintFn printFn; // strongly referenced while libbpf may call it
    private Pointer printBuf;

    LibbpfLog(LibBpf lib, LibC libc, Runtime runtime) {
        this.lib = lib;
        this.libc = libc;
        this.runtime = runtime;
    }

    void install() {
        printBuf = runtime.getMemoryManager().allocateDirect(BUF, true);
        printFn = (level, fmt, args) -> {
            // level 2 (debug) is very chatty and only useful when debugging libbpf itself
            if (level >= 2 && !LOG.isLoggable(Level.FINEST)) return 0;
            synchronized (printBuf) {
                int n = libc.vsnprintf(printBuf, BUF, fmt, args);
                if (n < 0) return 0;
                String msg = printBuf.getString(0).stripTrailing();
                Level l = level == 0 ? Level.WARNING : level == 1 ? Level.FINE : Level.FINEST;
                // expected answers: clsact already there (EEXIST), our filter not there (detach/query)
                if (msg.contains("Exclusivity flag on") || msg.contains("Cannot find specified filter chain")) l = Level.FINE;
                LOG.log(l, "libbpf: {0}", msg);
                if (capturing && level <= 1) {
                    synchronized (capture) {
                        capture.append(msg).append('\n');
                    }
                }
            }
            return 0;
        };
        lib.libbpf_set_print(printFn);
    }

    void uninstall() {
        if (printFn != null) {
            lib.libbpf_set_print(null);
            printFn = null;
        }
    }

    void startCapture() {
        synchronized (capture) {
            capture.setLength(0);
        }
        capturing = true;
    }

    void stopCapture() {
        capturing = false;
    }

    /** The end of what libbpf said since {@link #startCapture()}, for an exception message; stops the capture. */
    String capturedTail() {
        stopCapture();
        synchronized (capture) {
            if (capture.length() == 0) return "";
            String s = capture.toString();
            return "\nlibbpf log (tail):\n" + (s.length() > TAIL ? "..." + s.substring(s.length() - TAIL) : s);
        }
    }
}
