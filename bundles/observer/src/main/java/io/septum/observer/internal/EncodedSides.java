package io.septum.observer.internal;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.io.SerializedString;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;
import io.septum.api.flow.FlowEndpoint;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Writes a flow's side (a {@link FlowEndpoint}) from its JSON, encoded once. A host's flows name the same endpoints
 * and peers again and again, and encoding their labels, character by character, was the largest single part of
 * writing a flow to the log. The bytes are those {@code plain} (Jackson's own serializer, configured as the log's
 * mapper) writes; the sides are compared by value, so a changed side (new labels, another name) is encoded afresh.
 */
final class EncodedSides extends StdSerializer<FlowEndpoint> {
    /** Sides remembered at most; past it the cache starts over (flows from many outside peers). */
    static final int MAX_SIDES = 4096;

    private final transient ObjectWriter plain;
    private final transient Map<FlowEndpoint, SerializableString> encoded = new ConcurrentHashMap<>();

    EncodedSides(ObjectWriter plain) {
        super(FlowEndpoint.class);
        this.plain = plain;
    }

    @Override
    public void serialize(FlowEndpoint side, JsonGenerator gen, SerializerProvider provider) throws IOException {
        SerializableString json = encoded.get(side);
        if (json == null) {
            json = new SerializedString(new String(plain.writeValueAsBytes(side), StandardCharsets.UTF_8));
            if (encoded.size() >= MAX_SIDES) encoded.clear();
            encoded.put(side, json);
        }
        gen.writeRawValue(json);
    }

    int size() {
        return encoded.size();
    }
}
