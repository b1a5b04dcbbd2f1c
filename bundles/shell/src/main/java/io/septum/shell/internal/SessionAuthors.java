package io.septum.shell.internal;

import org.apache.felix.service.command.CommandSession;

/**
 * Who a shell session acts for, as the policy history records its changes: the remote shell's sessions know their
 * caller; the console (and any session this does not know) acts for the agent's own user. Kept by session object,
 * not in a session variable, which the session's user could set.
 */
interface SessionAuthors {
    /** The console's author: the agent's own user. */
    String CONSOLE = "console (" + System.getProperty("user.name") + ")";

    /** The author of {@code session}'s changes, or null when this does not know the session. */
    String authorOf(CommandSession session);

    /** The author of a change made in {@code session}, whoever (if anyone) keeps track of it. */
    static String of(SessionAuthors authors, CommandSession session) {
        String a = authors == null || session == null ? null : authors.authorOf(session);
        return a == null ? CONSOLE : a;
    }
}
