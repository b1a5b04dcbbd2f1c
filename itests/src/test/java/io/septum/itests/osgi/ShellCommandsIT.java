package io.septum.itests.osgi;

import static org.junit.Assert.assertTrue;

import io.septum.api.AgentReady;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Set;
import java.util.TreeSet;
import javax.inject.Inject;
import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.ServiceReference;

/** The operator's Gogo commands are registered and run. */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class ShellCommandsIT extends SeptumTestSupport {
    @Inject
    CommandProcessor processor;
    /** Commands answer from the agent's services: run them once it is ready (injection waits for it). */
    @Inject
    AgentReady ready;

    @Test
    public void commandsAreRegistered() throws Exception {
        for (String command : new String[] {"endpoint:list", "policy:list", "status"}) {
            await("Gogo command " + command + " (registered: " + commands() + ")", () -> hasCommand(command));
        }
    }

    @Test
    public void commandsRun() throws Exception {
        await("Gogo command endpoint:list", () -> hasCommand("endpoint:list"));
        await("Gogo command policy:list", () -> hasCommand("policy:list"));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream ps = new PrintStream(out, true, StandardCharsets.UTF_8);
        CommandSession session = processor.createSession(new ByteArrayInputStream(new byte[0]), ps, ps);
        try {
            session.execute("endpoint:list");
            session.execute("policy:list");
        } finally {
            session.close();
        }
        String text = out.toString(StandardCharsets.UTF_8);
        assertTrue("endpoint:list and policy:list print tables with headers, got:\n" + text, text.contains("NAME"));
    }

    /** {@code status} matches {@code status} in any scope; {@code scope:name} only that scope. */
    private boolean hasCommand(String command) {
        String scope = command.contains(":") ? command.substring(0, command.indexOf(':')) : null;
        String function = command.substring(command.indexOf(':') + 1);
        return commands().contains((scope == null ? "*" : scope) + ":" + function)
                || scope == null && commands().stream().anyMatch(c -> c.endsWith(":" + function));
    }

    private Set<String> commands() {
        Set<String> names = new TreeSet<>();
        try {
            ServiceReference<?>[] refs = bundleContext.getAllServiceReferences(null, "(osgi.command.scope=*)");
            if (refs == null) return names;
            for (ServiceReference<?> ref : refs) {
                Object scope = ref.getProperty("osgi.command.scope");
                Object functions = ref.getProperty("osgi.command.function");
                for (String f : asStrings(functions)) names.add(scope + ":" + f);
            }
        } catch (org.osgi.framework.InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
        return names;
    }

    private static Iterable<String> asStrings(Object o) {
        if (o instanceof String[] a) return Arrays.asList(a);
        if (o instanceof String s) return Arrays.asList(s.split(","));
        if (o instanceof Iterable<?> it) {
            Set<String> s = new TreeSet<>();
            it.forEach(x -> s.add(String.valueOf(x)));
            return s;
        }
        return Set.of();
    }
}
