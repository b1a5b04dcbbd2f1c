/**
 * The policy model: parsed policy sets, per-endpoint policy entries for the datapath, decisions for
 * eval and trace, validation errors, and the repository and engine services.
 */
@Version("1.8.0")
@Export
package io.septum.api.policy;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
