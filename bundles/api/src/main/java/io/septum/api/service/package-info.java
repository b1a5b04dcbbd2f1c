/**
 * ClusterIP-style services: a virtual IP and port (the frontend) load-balanced by the datapath over backend
 * endpoints or IPs, the {@link io.septum.api.service.ServiceManager} that keeps them, and the
 * {@link io.septum.api.service.ServiceListener}s it tells of changes. The frontend address gets
 * no identity: policy always sees the backend that was picked.
 */
@Version("1.1.0")
@Export
package io.septum.api.service;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
