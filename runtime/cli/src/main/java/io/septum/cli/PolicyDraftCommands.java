package io.septum.cli;

import io.septum.api.flow.ImpactReport;
import io.septum.api.flow.PolicyDiff;
import io.septum.view.Views;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code policy impact} and {@code policy diff}: what a draft would change, asked of the agent before anything is
 * applied. The agent parses the draft with the same engine as {@code policy import} and stores nothing.
 */
final class PolicyDraftCommands {
    private PolicyDraftCommands() {
    }

    /** What both commands share: the draft file, read and posted to the agent, which answers with a report. */
    abstract static class DraftCmd extends AgentCommand {
        @Parameters(paramLabel = "FILE", description = "YAML file of the draft policies; - reads standard input.")
        String file;

        /** Posts the draft to {@code path} and reads the agent's answer as {@code type}. */
        final <T> T postDraft(SeptumCli cli, String path, Class<T> type) {
            PolicyCommand.Source s = PolicyCommand.read(cli, file);
            return cli.client().post(path, s.text(), s.origin(), type);
        }
    }

    @Command(name = "impact", mixinStandardHelpOptions = true,
            description = {"Judge a draft policy against the recorded flows: which distinct connections it would newly"
                    + " drop, newly allow, or leave as they are, each with the rule that decides it; and which live"
                    + " endpoints it selects. Nothing is applied.",
                    "Before is what the policies in force decide now; after, the same with the draft merged in (a"
                    + " policy of the same kind, namespace and name is replaced, as by 'policy import')."})
    static final class ImpactCmd extends DraftCmd {
        @Option(names = "--since", paramLabel = "TIME", defaultValue = "1h",
                description = "The window of recorded flows: 30s, 5m, 1h, 24h, 7d or RFC 3339 (default: ${DEFAULT-VALUE}).")
        String since;

        @Option(names = "--all", description = "List unchanged connections too (the table shows changed ones only).")
        boolean all;

        @Override
        public Integer call() {
            SeptumCli cli = cli();
            ImpactReport r = postDraft(cli, "/v1/policy/impact?since=" + AgentClient.segment(since), ImpactReport.class);
            return print(cli, r, x -> Views.impact(x, all));
        }
    }

    @Command(name = "diff", mixinStandardHelpOptions = true,
            description = {"Compare a draft policy with what is in force: each of its policies added, changed (with the"
                    + " changed lines) or unchanged, and each live endpoint whose resolved policy would change."
                    + " Nothing is applied."})
    static final class DiffCmd extends DraftCmd {
        @Override
        public Integer call() {
            SeptumCli cli = cli();
            return print(cli, postDraft(cli, "/v1/policy/diff", PolicyDiff.class), Views::policyDiff);
        }
    }
}
