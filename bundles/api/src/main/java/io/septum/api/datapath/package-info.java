/**
 * The datapath contract: what the endpoint manager asks the eBPF datapath to enforce, what the datapath reports
 * back (verdict and drop events), and the views of its maps that {@code bpf ...} commands print.
 */
@Version("1.5.0")
@Export
package io.septum.api.datapath;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
