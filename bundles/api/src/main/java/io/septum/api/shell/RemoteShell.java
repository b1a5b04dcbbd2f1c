package io.septum.api.shell;

import java.util.List;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Sessions of the agent's Gogo shell for callers someone else has authorised (the REST API lets only root and the
 * admin group open one). A session keeps its variables between lines; it ends when closed or after a while unused.
 */
@ProviderType
public interface RemoteShell {
    /**
     * Opens a session whose policy changes are recorded with {@code author} (e.g. {@code shell (uid 0 (root))}).
     * Returns its id.
     *
     * @throws IllegalStateException when too many sessions are open
     */
    String open(String author);

    /**
     * Runs one command line in the session and answers what it printed. A line that runs longer than the shell's
     * limit is interrupted (a following command, {@code observe -f}, is not for a remote line).
     *
     * @throws java.util.NoSuchElementException when there is no such session (closed, or ended unused)
     */
    ShellReply execute(String session, String line);

    /** Ends the session; an unknown id is ignored. */
    void close(String session);

    /** The commands the shell knows now, {@code scope:name}, for completion. */
    List<String> commands();
}
