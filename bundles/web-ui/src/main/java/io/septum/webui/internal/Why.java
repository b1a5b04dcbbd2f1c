package io.septum.webui.internal;

import io.septum.api.policy.TraceResult;

/**
 * Why a flow got its verdict, as the "why" panel shows it.
 *
 * @param verdict    the flow's verdict
 * @param summary    one sentence: the deciding rule, or why no rule decided ("no rule selects this endpoint ...")
 * @param decidedBy  {@code rule} (a rule of a policy decided), {@code default} (no rule: default allow or deny),
 *                   or {@code trace} (the flow names no decision, e.g. a reply: the trace's answer is shown)
 * @param rule       the deciding rule as verdicts name it, or the default that applied
 * @param ruleId     the datapath's rule id, 0 when no rule decided
 * @param policy     the deciding rule's policy, null when none
 * @param ruleExists whether that rule is still in the current policy (false once its policy was deleted or changed)
 * @param subject    the endpoint whose policy applies: the destination on ingress, the source on egress
 * @param direction  INGRESS or EGRESS
 * @param trace      {@code policy trace} between the flow's endpoints with the current policy, null when it could
 *                   not run (see {@code traceError})
 * @param traceError why the trace could not run, or null
 * @param revision   the policy revision the trace used
 */
record Why(String verdict, String summary, String decidedBy, String rule, int ruleId, String policy,
           boolean ruleExists, String subject, String direction, TraceResult trace, String traceError, long revision) {
}
