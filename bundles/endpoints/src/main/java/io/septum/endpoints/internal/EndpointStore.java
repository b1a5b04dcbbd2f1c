package io.septum.endpoints.internal;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.septum.support.io.AtomicFiles;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * {@code endpoints.json}: each endpoint's id, keyed by (source, sourceId), with what is needed to keep enforcing it
 * after a restart before its source reports again. Written atomically and fsynced (owner-only), so that a crash or a
 * power loss leaves the old or the new file.
 */
final class EndpointStore {
    static final String FILE = "endpoints.json";

    @JsonIgnoreProperties(ignoreUnknown = true)
    record Stored(long id, String source, String sourceId, String name, String namespace, List<String> labels,
                  @JsonProperty("interface") String interfaceName, String netns, List<String> addresses, long identity,
                  Map<String, String> externalIds, String cgroupPath, boolean audit) {
    }

    @JsonIgnoreProperties(ignoreUnknown = true)
    record State(int version, long nextId, List<Stored> endpoints, Map<String, Map<String, String>> namespaceLabels) {
        State {
            endpoints = endpoints == null ? List.of() : endpoints;
            namespaceLabels = namespaceLabels == null ? Map.of() : namespaceLabels;
        }
    }

    private final ObjectMapper json = new ObjectMapper()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    private final Path file;

    EndpointStore(Path stateDir) {
        this.file = stateDir.resolve(FILE);
    }

    Path file() {
        return file;
    }

    State load() throws IOException {
        if (!Files.exists(file)) return new State(1, 1, List.of(), Map.of());
        State s = json.readValue(file.toFile(), State.class);
        // an empty file or "null" is damage, not "no endpoints": say so instead of failing later on a null
        if (s == null || s.endpoints() == null) throw new IOException(file + " is empty or has no endpoints list");
        return s;
    }

    /** Moves an unreadable file aside for the operator (the next save would overwrite it); its new name, or null. */
    String setAside() {
        Path aside = file.resolveSibling(FILE + ".corrupt-" + System.currentTimeMillis());
        try {
            Files.move(file, aside);
            return aside.toString();
        } catch (IOException e) {
            return null;
        }
    }

    void save(State state) throws IOException {
        Files.createDirectories(file.getParent());
        AtomicFiles.write(file, json.writeValueAsBytes(state), AtomicFiles.OWNER_ONLY);
    }
}
