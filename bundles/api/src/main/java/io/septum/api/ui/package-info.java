/**
 * The web UI's sessions, as far as other bundles need them: the REST API hands a caller it has authorised a
 * one-time link that opens a UI session acting for that caller ({@code septum ui login}).
 */
@Version("1.0.0")
@Export
package io.septum.api.ui;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
