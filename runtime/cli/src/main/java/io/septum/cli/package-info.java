/**
 * The {@code septum} command line: picocli commands that talk to the agent's REST API on its unix socket through
 * {@link io.septum.cli.AgentClient}, print the same model objects as the Gogo shell through the shared
 * {@code io.septum.view.Views} tables (or JSON with {@code -o json}), and run the offline policy tools
 * ({@code policy validate}, {@code policy eval}) with the policy engine found through {@link java.util.ServiceLoader}.
 */
package io.septum.cli;
