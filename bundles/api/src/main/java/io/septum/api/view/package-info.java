/**
 * Tables that the shell and the CLI both print, built from the same model objects, so that
 * {@code endpoint:list} in the shell and {@code septum endpoint list} look alike.
 */
@Version("1.4.0")
@Export
package io.septum.api.view;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
