package io.septum.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.septum.view.Table;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** {@link Output}: what every command prints, in both formats, from one model. */
class OutputTest {
    private final StringWriter text = new StringWriter();

    private Output output(Output.Format format) {
        return new Output(new PrintWriter(text), format, new ObjectMapper());
    }

    @Test
    void printRendersTheViewOrTheModelAsJson() {
        Table table = new Table("ID", "NAME").row("1", "web");
        output(Output.Format.TABLE).print(Map.of("id", 1), () -> table);
        assertEquals(table.render(), text.toString());

        text.getBuffer().setLength(0);
        output(Output.Format.TABLE).print(Map.of("id", 1), () -> "one line");
        assertEquals("one line\n", text.toString(), "a line gets its newline");

        text.getBuffer().setLength(0);
        output(Output.Format.JSON).print(List.of(Map.of("id", 1)), () -> {
            throw new AssertionError("the view is not made for -o json");
        });
        assertEquals("[ {\n  \"id\" : 1\n} ]\n", text.toString());
    }

    @Test
    void resultIsTheLineInTableModeAndOnlyTheModelInJson() {
        AtomicInteger made = new AtomicInteger();
        output(Output.Format.TABLE).result(Map.of("deleted", "web"), () -> "Endpoint web deleted" + made.incrementAndGet());
        assertEquals("Endpoint web deleted1\n", text.toString());

        text.getBuffer().setLength(0);
        output(Output.Format.JSON).result(Map.of("deleted", "web"), () -> "Endpoint web deleted" + made.incrementAndGet());
        assertEquals("{\n  \"deleted\" : \"web\"\n}\n", text.toString());
        assertEquals(1, made.get(), "the line is not made for -o json");
    }
}
