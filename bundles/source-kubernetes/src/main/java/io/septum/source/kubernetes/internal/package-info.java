/**
 * The {@code k8s} endpoint source: a DS component that follows this node's pods and the cluster's namespaces with
 * fabric8 kubernetes-client informers (embedded in the bundle), reports each running pod as an endpoint on the
 * host-side interface that routes to its IP, pushes namespace labels to the endpoint manager, and feeds
 * CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy and NetworkPolicy objects to the policy repository, recording
 * the ones validation refuses. Nothing here is exported: the agent sees only the {@code EndpointSource} service.
 */
package io.septum.source.kubernetes.internal;
