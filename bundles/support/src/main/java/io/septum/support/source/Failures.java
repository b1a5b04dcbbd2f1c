package io.septum.support.source;

/**
 * How a source words a failure in its status line and its log: the message of the innermost cause, which names
 * what actually went wrong ("Connection refused"), not the wrapper around it.
 *
 * <p>This package is embedded privately by each bundle that uses it ({@code -conditionalpackage}); it is not an API
 * and is never imported between bundles.
 */
public final class Failures {
    private Failures() {
    }

    /** The innermost cause's message, or its class's simple name when it has none. */
    public static String rootMessage(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) root = root.getCause();
        String m = root.getMessage();
        return m == null ? root.getClass().getSimpleName() : m;
    }
}
