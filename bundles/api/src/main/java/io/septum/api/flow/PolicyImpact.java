package io.septum.api.flow;

import io.septum.api.policy.PolicySet;
import java.time.Instant;
import org.osgi.annotation.versioning.ProviderType;

/**
 * What a draft policy would change, before it is applied: {@code septum policy impact} judges it against the
 * traffic recorded in the flow history, {@code septum policy diff} against the policies in force and the live
 * endpoints. Neither changes anything.
 *
 * <p>"Before" is what the policies in force decide today, "after" what they decide with the draft merged in (a
 * draft policy replaces the one of the same kind, namespace and name, as an import would).
 *
 * @since 1.5
 */
@ProviderType
public interface PolicyImpact {
    /**
     * Judges every distinct connection recorded since {@code since} (null: every flow held, up to the limit the
     * report states) with and without the draft: its source and destination identities, protocol and port, and
     * for L7 flows the HTTP method and path. Reply packets are not connections and are skipped.
     */
    ImpactReport impact(PolicySet draft, Instant since);

    /**
     * The draft against what is in force: each of its policies added, changed (with a line diff of the documents)
     * or unchanged, and each live endpoint whose resolved policy would change.
     */
    PolicyDiff diff(PolicySet draft);
}
