/**
 * The shared contract of Septum: endpoints, labels, identities and the endpoint-source SPI.
 * Every other bundle depends on this package and on nothing else of each other.
 */
@Version("2.6.0")
@Export
package io.septum.api;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
