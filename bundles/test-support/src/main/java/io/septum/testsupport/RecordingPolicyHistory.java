package io.septum.testsupport;

import io.septum.api.policy.PolicyHistory;
import io.septum.api.policy.PolicyRevision;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A policy history for tests of what prints and changes it (the shell's and the CLI's policy commands): it records
 * each call as a line of {@link #calls}, so that a test sees what reached the service, and answers with what the test
 * gave it.
 *
 * <ul>
 *   <li>{@code history}: "history NAMESPACE|NAME|LIMIT"; the given revisions, whichever policy is asked for, the
 *       first LIMIT of them when LIMIT is positive.</li>
 *   <li>{@code rollback}: "rollback NAMESPACE|NAME|REVISION|AUTHOR"; the given new revision, or, for a policy none of
 *       the given revisions is of, {@link NoSuchElementException} as the real history throws.</li>
 *   <li>{@code setMode}: "mode NAMESPACE|NAME|MODE|AUTHOR"; the given new revision.</li>
 * </ul>
 */
public final class RecordingPolicyHistory implements PolicyHistory {
    /** Every call, oldest first, in the forms above. */
    public final List<String> calls = new CopyOnWriteArrayList<>();
    private final long afterRollback;
    private final long afterSetMode;
    private final List<PolicyRevision> revisions;

    /** Answers a rollback with {@code afterRollback}, a mode change with {@code afterSetMode}, history with {@code revisions}. */
    public RecordingPolicyHistory(long afterRollback, long afterSetMode, PolicyRevision... revisions) {
        this.afterRollback = afterRollback;
        this.afterSetMode = afterSetMode;
        this.revisions = List.of(revisions);
    }

    /** The latest call. */
    public String lastCall() {
        return calls.get(calls.size() - 1);
    }

    @Override
    public List<PolicyRevision> history(String namespace, String name, int limit) {
        calls.add("history " + namespace + "|" + name + "|" + limit);
        return limit > 0 && limit < revisions.size() ? revisions.subList(0, limit) : revisions;
    }

    @Override
    public long rollback(String namespace, String name, long revision, String author) {
        calls.add("rollback " + namespace + "|" + name + "|" + revision + "|" + author);
        String policy = namespace.isEmpty() ? name : namespace + "/" + name;
        if (revisions.stream().noneMatch(r -> r.policy().equals(policy))) {
            throw new NoSuchElementException("the policy history has no policy \"" + name + "\"");
        }
        return afterRollback;
    }

    @Override
    public long setMode(String namespace, String name, String mode, String author) {
        calls.add("mode " + namespace + "|" + name + "|" + mode + "|" + author);
        return afterSetMode;
    }
}
