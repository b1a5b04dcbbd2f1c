/**
 * The {@code libvirt} endpoint source: a DS component that polls a libvirt daemon (libvirt-java over JNA, embedded in
 * the bundle) for its running domains, reads each domain's XML for its interfaces and its Septum metadata, finds its
 * addresses, and reports it as an endpoint on its host-side tap or veth. Nothing here is exported: the agent sees
 * only the {@code EndpointSource} service.
 */
package io.septum.source.libvirt.internal;
