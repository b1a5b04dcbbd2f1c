package io.septum.shell.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.septum.view.Table;
import java.io.PrintStream;
import java.util.Locale;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * What every command class shares: printing a model as a table or JSON, and naming a missing service. Gogo gives
 * each session its own {@code System.out}, so output is looked up per call, not kept.
 */
abstract class ShellSupport {
    static final String OUTPUT_DESCRIPTION = "output format: table or json";

    private final ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    /** Where output goes; tests replace it. */
    volatile Supplier<PrintStream> out = () -> System.out;

    PrintStream out() {
        return out.get();
    }

    /** Prints {@code model} as JSON or the view of it; an unknown format is an error that names the choices. */
    void print(String format, Object model, Supplier<?> view) {
        if (json(format)) {
            out().println(toJson(model));
        } else {
            Object v = view.get();
            String text = v instanceof Table t ? t.render() : String.valueOf(v);
            out().print(text.endsWith("\n") ? text : text + "\n");
        }
        out().flush();
    }

    /** Prints {@code model} as JSON or as {@code view} of it, as {@link #print(String, Object, Supplier)} does. */
    <T> void print(String format, T model, Function<? super T, ?> view) {
        print(format, model, () -> view.apply(model));
    }

    static boolean json(String format) {
        String f = format == null ? "table" : format.trim().toLowerCase(Locale.ROOT);
        if (f.equals("json")) return true;
        if (f.equals("table") || f.isEmpty()) return false;
        throw new ShellException("unknown output format \"" + format + "\" (expected table or json)");
    }

    String toJson(Object model) {
        try {
            return json.writeValueAsString(model);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot print as JSON: " + e.getOriginalMessage(), e);
        }
    }

    /** {@code model} as JSON on one line, as streams print each flow or event; {@code what} names it in an error. */
    String jsonLine(Object model, String what) {
        try {
            return json.writer().without(SerializationFeature.INDENT_OUTPUT).writeValueAsString(model);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot print the " + what + " as JSON: " + e.getOriginalMessage(), e);
        }
    }

    ObjectMapper mapper() {
        return json;
    }

    /** The service, or an error naming it: commands stay registered while a component restarts. */
    static <T> T need(T service, String what) {
        if (service == null) {
            throw new ShellException(what + " is not running in the agent (see 'status' and the agent's log)");
        }
        return service;
    }

    static boolean blank(String s) {
        return s == null || s.isBlank();
    }

    /** A {@code --since} value (30s, 5m, 1h, 1d or RFC 3339) as an instant; blank: null. */
    static java.time.Instant since(String since) {
        if (blank(since)) return null;
        try {
            return java.time.Instant.ofEpochSecond(0, io.septum.api.flow.FlowFilter.parseTime(since,
                    System.currentTimeMillis() * 1_000_000L));
        } catch (IllegalArgumentException ex) {
            throw new ShellException("--since: " + ex.getMessage());
        }
    }
}
