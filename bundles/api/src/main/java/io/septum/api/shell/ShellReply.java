package io.septum.api.shell;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

/**
 * What one command line did.
 *
 * @param output what it printed, and its result formatted as the console shows it
 * @param error  the error it ended with (the console's red line), or null
 */
@JsonPropertyOrder({"output", "error"})
public record ShellReply(@JsonProperty("output") String output, @JsonProperty("error") String error) {
    public ShellReply {
        output = output == null ? "" : output;
    }
}
