/**
 * ClusterIP-style services: a virtual IP and port (the frontend) load-balanced by the datapath over backend
 * endpoints or IPs, and the {@link io.septum.api.service.ServiceManager} that keeps them. The frontend address gets
 * no identity: policy always sees the backend that was picked.
 */
@Version("1.0.0")
@Export
package io.septum.api.service;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
