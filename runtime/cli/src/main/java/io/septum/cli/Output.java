package io.septum.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.septum.view.Table;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * Prints a model object as a table (the default) or as pretty JSON ({@code -o json}). Commands hand it both the
 * model and the view, so both formats always come from the same object.
 */
public final class Output {
    /** The {@code -o} values. */
    public enum Format {
        TABLE, JSON;

        public static Format parse(String s) {
            try {
                return valueOf(s.trim().toUpperCase(Locale.ROOT));
            } catch (RuntimeException e) {
                throw new CliException(CliException.INVALID_INPUT, "unknown output format \"" + s + "\" (expected table or json)");
            }
        }
    }

    private final PrintWriter out;
    private final Format format;
    private final ObjectMapper mapper;

    public Output(PrintWriter out, Format format, ObjectMapper mapper) {
        this.out = out;
        this.format = format;
        this.mapper = mapper.copy().enable(SerializationFeature.INDENT_OUTPUT);
    }

    public boolean json() {
        return format == Format.JSON;
    }

    public PrintWriter out() {
        return out;
    }

    /** Prints {@code model} as JSON, or the text {@code view} makes of it. */
    public void print(Object model, Supplier<?> view) {
        if (json()) {
            printJson(model);
        } else {
            Object v = view.get();
            String text = v instanceof Table t ? t.render() : String.valueOf(v);
            out.print(text);
            if (!text.endsWith("\n")) out.println();
        }
        out.flush();
    }

    /** Prints {@code model} as pretty JSON whatever the format (for commands whose output is JSON only). */
    public void printJson(Object model) {
        out.println(toJson(model));
        out.flush();
    }

    /**
     * What a command did: {@code model} as JSON with {@code -o json}, else the line {@code message} makes. The line
     * is made only in table mode, so it may read fields the JSON model does not need.
     */
    public void result(Object model, Supplier<String> message) {
        if (json()) printJson(model);
        else info(message.get());
    }

    /** A line of text in table mode; nothing in JSON mode (where only the model is printed). */
    public void info(String line) {
        if (!json()) {
            out.println(line);
            out.flush();
        }
    }

    public String toJson(Object model) {
        try {
            return mapper.writeValueAsString(model);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot print as JSON: " + e.getOriginalMessage(), e);
        }
    }
}
