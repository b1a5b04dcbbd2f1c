/**
 * The endpoint manager: it collects {@link io.septum.api.EndpointSource} services (whiteboard), turns what they
 * report into endpoints with agent-controlled labels, gets their identities, keeps the ipcache, and regenerates each
 * endpoint's datapath state on one serial executor whenever an endpoint, an identity, a namespace's labels or the
 * policy changes. It also restores what a previous agent left so that a restart drops no established flow.
 */
package io.septum.endpoints.internal;
