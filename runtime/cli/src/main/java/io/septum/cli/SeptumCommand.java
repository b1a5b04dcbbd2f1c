package io.septum.cli;

/**
 * A top-level {@code septum} command written in another module (the lab's {@code connectivity} and {@code demo}):
 * a picocli {@code @Command} class with a public no-argument constructor, listed in that module's
 * {@code META-INF/services/io.septum.cli.SeptumCommand}. {@link SeptumCli} adds every one that
 * {@link java.util.ServiceLoader} finds on the class path, after its own commands, ordered by name; the CLI itself
 * depends on none of them.
 */
public interface SeptumCommand {
}
