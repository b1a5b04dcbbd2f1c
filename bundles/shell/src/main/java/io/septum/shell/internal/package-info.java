/**
 * Gogo shell commands for operators at the agent's console, Karaf style: one class per noun (the command scope),
 * one method per verb, flags declared with {@code @Parameter}, every method and parameter described. They call
 * the same OSGi services as the REST API and print the same model objects through the shared
 * {@code io.septum.view.Views} tables, or JSON with {@code -o json}, so the shell and the CLI look alike.
 */
package io.septum.shell.internal;
