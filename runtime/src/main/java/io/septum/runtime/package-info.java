/**
 * The launcher of the septum command: {@link io.septum.runtime.Main} sends {@code septum agent} to the embedded
 * Felix container ({@link io.septum.runtime.Launcher}) and every other command to the CLI, which lives on the same
 * plain classpath. Nothing here is an OSGi bundle; bundles learn the launcher's decisions from framework properties.
 */
package io.septum.runtime;
