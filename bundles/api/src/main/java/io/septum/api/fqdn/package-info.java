/**
 * DNS names learned by the DNS proxy, for {@code toFQDNs} policy.
 */
@Version("1.0.0")
@Export
package io.septum.api.fqdn;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
