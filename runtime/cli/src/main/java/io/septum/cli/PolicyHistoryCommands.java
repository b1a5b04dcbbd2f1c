package io.septum.cli;

import com.fasterxml.jackson.core.type.TypeReference;
import io.septum.api.policy.PolicyRevision;
import io.septum.view.Views;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code policy history} and {@code policy rollback}: every change the agent's policy repository made, with its
 * author (the caller's unix user, as the kernel tells the agent) and diff; and one policy put back as it was.
 */
final class PolicyHistoryCommands {
    private PolicyHistoryCommands() {
    }

    /**
     * The base of {@code policy stage}, {@code promote} and {@code rollback}: one policy, named by NAME and
     * {@code -n}, changed as one new revision.
     */
    abstract static class OnePolicyChangeCmd extends AgentCommand {
        @Parameters(paramLabel = "NAME", description = "Policy name (or namespace/name).")
        String name;

        @Option(names = {"-n", "--namespace"}, description = "Its namespace (default: default); - for cluster-wide.")
        String namespace;

        /**
         * Posts {@code {namespace, name, field: value}} to {@code path} and prints the answer
         * ({@code {"revision": N}}) as JSON or as {@code message(policy, revision)}.
         */
        final int change(String path, String field, Object value,
                         java.util.function.BiFunction<String, Object, String> message) {
            SeptumCli cli = cli();
            String[] p = policyName(name, namespace);
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("namespace", p[0]);
            body.put("name", p[1]);
            body.put(field, value);
            Map<String, Object> r = cli.client().post(path, body, new TypeReference<Map<String, Object>>() { });
            String shown = p[0].isEmpty() ? p[1] : p[0] + "/" + p[1];
            cli.output().result(r, () -> message.apply(shown, r.get("revision")));
            return 0;
        }
    }

    /** {@code policy stage} and {@code policy promote}: one policy's mode, as one change. */
    abstract static class ModeCmd extends OnePolicyChangeCmd {
        private final String mode;
        private final String done;

        ModeCmd(String mode, String done) {
            this.mode = mode;
            this.done = done;
        }

        @Override
        public Integer call() {
            return change("/v1/policy/mode", "mode", mode,
                    (shown, rev) -> done + " policy " + shown + " (" + mode + " mode), revision " + rev);
        }
    }

    @Command(name = "stage", mixinStandardHelpOptions = true,
            description = {"Put one policy in audit mode (annotation policy.septum.io/mode: audit), as one change: its"
                    + " would-be drops pass and show as AUDIT flows (observe --verdict AUDIT) until it is promoted."})
    static final class StageCmd extends ModeCmd {
        StageCmd() {
            super("audit", "Staged");
        }
    }

    @Command(name = "promote", mixinStandardHelpOptions = true,
            description = {"Make a staged (audit-mode) policy enforce, as one change: its denies drop from now on."})
    static final class PromoteCmd extends ModeCmd {
        PromoteCmd() {
            super("enforce", "Promoted");
        }
    }

    /** {@code ns/name} or {@code name} with {@code -n}: the namespace ("" for cluster-wide ones) and the name. */
    static String[] policyName(String name, String namespace) {
        if (namespace == null && name.indexOf('/') > 0) {
            return new String[] {name.substring(0, name.indexOf('/')), name.substring(name.indexOf('/') + 1)};
        }
        String ns = namespace == null ? "default" : "-".equals(namespace) ? "" : namespace;
        return new String[] {ns, name};
    }

    @Command(name = "history", mixinStandardHelpOptions = true,
            description = {"Every change of the agent's policies, newest first: revision, time, author (the unix user"
                    + " that asked, or the policy source), action and what changed; kept across restarts.",
                    "With NAME, that policy's changes only; --diff shows each change's lines."})
    static final class HistoryCmd extends AgentCommand {
        @Parameters(paramLabel = "NAME", arity = "0..1", description = "Policy name (or namespace/name).")
        String name;

        @Option(names = {"-n", "--namespace"}, description = "Its namespace (default: default); - for cluster-wide.")
        String namespace;

        @Option(names = "--limit", paramLabel = "N", description = "At most N changes (default: every one kept).")
        int limit;

        @Option(names = "--diff", description = "Show each change's document lines (- before, + after).")
        boolean diff;

        @Override
        public Integer call() {
            SeptumCli cli = cli();
            StringBuilder q = new StringBuilder("/v1/policy/history?limit=").append(limit);
            if (name != null) {
                String[] p = policyName(name, namespace);
                q.append("&namespace=").append(AgentClient.segment(p[0])).append("&name=").append(AgentClient.segment(p[1]));
            }
            List<PolicyRevision> revisions = cli.client().get(q.toString(), new TypeReference<List<PolicyRevision>>() { });
            return print(cli, revisions, r -> Views.policyHistory(r, diff));
        }
    }

    @Command(name = "rollback", mixinStandardHelpOptions = true,
            description = {"Put one policy back as it was right after revision REV (see policy history), as one new"
                    + " change: its document then, or no policy if it did not exist then. The old document is"
                    + " validated again first; if it no longer is valid, nothing changes."})
    static final class RollbackCmd extends OnePolicyChangeCmd {
        @Option(names = "--to", required = true, paramLabel = "REV", description = "The revision to go back to.")
        long to;

        @Override
        public Integer call() {
            return change("/v1/policy/rollback", "revision", to,
                    (shown, rev) -> "Rolled back policy " + shown + " to revision " + to + "; new revision " + rev);
        }
    }
}
