/**
 * The {@code netns} endpoint source: it turns existing network namespaces into endpoints. Endpoints are declared in
 * {@code etc/endpoints/*.yaml} or added by the operator; a periodic scan finds each namespace's host-side veth and
 * addresses with {@code ip -j} and reports what changed to the endpoint manager. It emits only the declared labels.
 */
package io.septum.source.netns.internal;
