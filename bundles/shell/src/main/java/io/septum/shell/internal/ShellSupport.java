package io.septum.shell.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.septum.api.Label;
import io.septum.api.Labels;
import io.septum.api.view.Table;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
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

    /**
     * Labels for a trace, as the REST API reads them: entries without a source get {@code any}; a peer that names
     * no namespace and is not a reserved or CIDR identity is in {@code default}, as any endpoint would be.
     */
    static Labels traceLabels(List<String> texts) {
        List<String> flat = new ArrayList<>();
        for (String t : texts) {
            for (String part : t.split(",")) if (!part.isBlank()) flat.add(part.strip());
        }
        if (flat.isEmpty()) throw new ShellException("no labels given (e.g. k8s:org=empire,class=tiefighter)");
        Labels labels = Labels.parse(flat, Label.ANY);
        boolean special = labels.asList().stream()
                .anyMatch(l -> l.source().equals(Label.RESERVED) || l.source().equals(Label.CIDR));
        if (!special && !labels.has(Label.ANY, Labels.NAMESPACE_KEY)) {
            labels = labels.with(new Label(Label.K8S, Labels.NAMESPACE_KEY, "default"));
        }
        return labels;
    }
}
