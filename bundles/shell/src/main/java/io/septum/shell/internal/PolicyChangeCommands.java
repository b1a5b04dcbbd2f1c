package io.septum.shell.internal;

import io.septum.api.flow.PolicyImpact;
import io.septum.api.policy.PolicyEngine;
import io.septum.api.policy.PolicyHistory;
import io.septum.api.policy.PolicySet;
import io.septum.api.policy.PolicyValidationException;
import io.septum.view.Views;
import java.util.Map;
import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/**
 * {@code policy:impact|diff|stage|promote|history|rollback}: a draft judged before it is applied, a policy staged in
 * audit mode and promoted, and the history of what was applied, as the {@code septum policy} commands and their REST
 * routes print them.
 */
@Component(service = PolicyChangeCommands.class)
@GogoCommand(scope = "policy", function = {"impact", "diff", "history", "rollback", "stage", "promote"})
public final class PolicyChangeCommands extends ShellSupport {
    /** Who the remote shell's sessions act for; absent, every session is the console's. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    volatile SessionAuthors authors;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    volatile PolicyEngine engine;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    volatile PolicyImpact impact;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    volatile PolicyHistory history;

    private PolicySet draft(CommandSession session, String file) {
        try {
            return need(engine, "the policy engine").parse(file, PolicyCommands.read(session, file));
        } catch (PolicyValidationException e) {
            throw new ShellException(e.getMessage());
        }
    }

    private PolicyImpact impact() {
        return need(impact, "policy impact (septum-observer)");
    }

    @Descriptor("Judge a draft policy against the recorded flows: what it would newly drop, newly allow, or leave; nothing is applied")
    public void impact(CommandSession session,
            @Descriptor(OUTPUT_DESCRIPTION) @Parameter(names = {"-o", "--output"}, absentValue = "table") String output,
            @Descriptor("the window of recorded flows: 30s, 5m, 1h, 24h, 7d or RFC 3339") @Parameter(names = "--since", absentValue = "1h") String since,
            @Descriptor("list unchanged connections too") @Parameter(names = "--all", absentValue = "false", presentValue = "true") boolean all,
            @Descriptor("YAML file of the draft policies") String file) {
        java.time.Instant from = since(since);
        print(output, impact().impact(draft(session, file), from), r -> Views.impact(r, all));
    }

    @Descriptor("Compare a draft policy with what is in force: policies added/changed/unchanged, endpoints whose policy changes")
    public void diff(CommandSession session,
            @Descriptor(OUTPUT_DESCRIPTION) @Parameter(names = {"-o", "--output"}, absentValue = "table") String output,
            @Descriptor("YAML file of the draft policies") String file) {
        print(output, impact().diff(draft(session, file)), Views::policyDiff);
    }

    @Descriptor("Every change of the agent's policies, newest first, with its author; NAME narrows it to one policy")
    public void history(
            @Descriptor(OUTPUT_DESCRIPTION) @Parameter(names = {"-o", "--output"}, absentValue = "table") String output,
            @Descriptor("its namespace (default: default); - for cluster-wide") @Parameter(names = {"-n", "--namespace"}, absentValue = "") String namespace,
            @Descriptor("at most N changes (0: every one kept)") @Parameter(names = "--limit", absentValue = "0") int limit,
            @Descriptor("show each change's document lines") @Parameter(names = "--diff", absentValue = "false", presentValue = "true") boolean diff,
            @Descriptor("policy name (or namespace/name); none: every policy") String... name) {
        if (name.length > 1) throw new ShellException("policy:history takes at most one policy name");
        String[] p = name.length == 0 ? new String[] {"", null} : policyName(name[0], namespace);
        print(output, need(history, "the policy history").history(p[0], p[1], limit), r -> Views.policyHistory(r, diff));
    }

    @Descriptor("Put one policy back as it was right after revision REV, as one new change")
    public void rollback(CommandSession session,
            @Descriptor(OUTPUT_DESCRIPTION) @Parameter(names = {"-o", "--output"}, absentValue = "table") String output,
            @Descriptor("its namespace (default: default); - for cluster-wide") @Parameter(names = {"-n", "--namespace"}, absentValue = "") String namespace,
            @Descriptor("the revision to go back to") @Parameter(names = "--to", absentValue = "-1") long to,
            @Descriptor("policy name (or namespace/name)") String name) {
        if (to < 0) throw new ShellException("policy:rollback needs --to REV (see policy:history)");
        String[] p = policyName(name, namespace);
        long revision = change(() -> need(history, "the policy history").rollback(p[0], p[1], to, SessionAuthors.of(authors, session)));
        print(output, Map.of("revision", revision), () -> "Rolled back policy " + shown(p) + " to revision " + to
                + "; new revision " + revision);
    }

    @Descriptor("Put one policy in audit mode (its would-be drops pass, as AUDIT flows), as one change")
    public void stage(CommandSession session,
            @Descriptor(OUTPUT_DESCRIPTION) @Parameter(names = {"-o", "--output"}, absentValue = "table") String output,
            @Descriptor("its namespace (default: default); - for cluster-wide") @Parameter(names = {"-n", "--namespace"}, absentValue = "") String namespace,
            @Descriptor("policy name (or namespace/name)") String name) {
        setMode(session, output, namespace, name, io.septum.api.policy.PolicyModes.AUDIT, "Staged");
    }

    @Descriptor("Make a staged (audit-mode) policy enforce, as one change")
    public void promote(CommandSession session,
            @Descriptor(OUTPUT_DESCRIPTION) @Parameter(names = {"-o", "--output"}, absentValue = "table") String output,
            @Descriptor("its namespace (default: default); - for cluster-wide") @Parameter(names = {"-n", "--namespace"}, absentValue = "") String namespace,
            @Descriptor("policy name (or namespace/name)") String name) {
        setMode(session, output, namespace, name, io.septum.api.policy.PolicyModes.ENFORCE, "Promoted");
    }

    private void setMode(CommandSession session, String output, String namespace, String name, String mode, String done) {
        String[] p = policyName(name, namespace);
        long revision = change(() -> need(history, "the policy history").setMode(p[0], p[1], mode, SessionAuthors.of(authors, session)));
        print(output, Map.of("revision", revision), () -> done + " policy " + shown(p) + " (" + mode + " mode), revision " + revision);
    }

    /** A change through the policy history, returning its new revision. */
    private interface HistoryChange {
        long apply() throws PolicyValidationException;
    }

    /** Makes the change; what the history refuses (unknown policy, revision or mode; invalid document) is the error. */
    private static long change(HistoryChange c) {
        try {
            return c.apply();
        } catch (PolicyValidationException | java.util.NoSuchElementException | IllegalArgumentException
                | IllegalStateException e) {
            throw new ShellException(e.getMessage());
        }
    }

    /** {@code ns/name} as {@link #policyName} split it, or the bare name of a cluster-wide policy. */
    private static String shown(String[] p) {
        return p[0].isEmpty() ? p[1] : p[0] + "/" + p[1];
    }

    /** {@code ns/name}, or a name with {@code -n} (default {@code default}; {@code -}: cluster-wide). */
    private static String[] policyName(String name, String namespace) {
        if (blank(namespace) && name.indexOf('/') > 0) {
            return new String[] {name.substring(0, name.indexOf('/')), name.substring(name.indexOf('/') + 1)};
        }
        String ns = blank(namespace) ? "default" : namespace.equals("-") ? "" : namespace.strip();
        return new String[] {ns, name};
    }
}
