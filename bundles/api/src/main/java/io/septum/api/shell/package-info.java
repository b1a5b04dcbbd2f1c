/**
 * The agent's own shell, reached from outside the process: {@code septum shell} runs Gogo command lines in a
 * session of the running agent over the API socket, as Karaf's {@code bin/client} does over SSH.
 */
@Version("1.0.0")
@Export
package io.septum.api.shell;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
