/**
 * The policy bundle's implementation: a YAML parser and validator for CiliumNetworkPolicy,
 * CiliumClusterwideNetworkPolicy and Kubernetes NetworkPolicy that collects every error with its file, document,
 * policy and field; compiled rules with Cilium's semantics in its {@code default}, {@code always} and {@code never}
 * enforcement modes (namespace scoping, entities, CIDR sets, deny-wins, default deny once selected), with the HTTP
 * rules the L7 proxy applies per request and the REDIRECT entries that send it the connections they govern; the offline
 * evaluator of corpus test cases; and the persisted, revisioned policy repository that tells listeners of every
 * change. Nothing here is exported: other bundles use the {@code io.septum.api.policy} services.
 */
package io.septum.policy.internal;
