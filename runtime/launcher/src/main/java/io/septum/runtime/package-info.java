/**
 * The agent process, {@code septum agent}: {@link io.septum.runtime.Main} starts the embedded Felix container
 * ({@link io.septum.runtime.Launcher}) on a plain classpath, with its options, logging and systemd notify. Nothing
 * here is an OSGi bundle; bundles learn the launcher's decisions from framework properties. The CLI is another
 * module; {@code bin/septum} picks this entry point for {@code agent} and the CLI's for everything else.
 */
package io.septum.runtime;
