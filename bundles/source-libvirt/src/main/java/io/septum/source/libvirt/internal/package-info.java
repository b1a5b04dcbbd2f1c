/**
 * The {@code libvirt} endpoint source: a DS component that lists the running domains of a libvirt daemon
 * (libvirt-java over JNA, embedded in the bundle), then follows their events through a {@code virsh event} child
 * process it owns, reads each domain's XML for its interfaces and its Septum metadata, finds its addresses, and
 * reports it as an endpoint on its host-side tap or veth. Nothing here is exported: the agent sees only the
 * {@code EndpointSource} service.
 */
package io.septum.source.libvirt.internal;
