/**
 * Flows: every datapath verdict, enriched with endpoint names, labels, identities and the deciding rule, in
 * Hubble's vocabulary and field names ({@code verdict}, {@code drop_reason_desc}, {@code traffic_direction},
 * {@code trace_observation_point}, {@code policy_match_type}, {@code is_reply}, ...). The observer service keeps
 * them in a ring and an on-disk log; {@link io.septum.api.flow.FlowFilter} is the one definition of what
 * {@code septum observe} and {@code /v1/flows} select, and {@link io.septum.api.flow.FlowQuery} the one reading of
 * their query parameters.
 */
@Version("1.7.0")
@Export
package io.septum.api.flow;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
