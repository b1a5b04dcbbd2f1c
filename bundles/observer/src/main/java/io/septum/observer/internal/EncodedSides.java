package io.septum.observer.internal;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.io.SerializedString;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;
import io.septum.api.flow.FlowEndpoint;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Writes a flow's side (a {@link FlowEndpoint}) from its JSON, encoded once. A host's flows name the same endpoints
 * and peers again and again, and encoding their labels, character by character, was the largest single part of
 * writing a flow to the log. The bytes are those {@code plain} (Jackson's own serializer, configured as the log's
 * mapper) writes; the sides are compared by value, so a changed side (new labels, another name) is encoded afresh.
 *
 * <p>At most {@link #MAX_SIDES} sides and {@link #MAX_BYTES} of JSON are kept. Past that a side is written as Jackson
 * writes it, uncached; after as many such writes as the cache holds, it starts over, so that it follows the sides in
 * use when they change. A host whose flows name far more sides than that pays for the refills: each first write of a
 * side encodes it apart and copies it, a little dearer than writing it inline.
 */
final class EncodedSides extends StdSerializer<FlowEndpoint> {
    static final int MAX_SIDES = 4096;
    /** The JSON kept at most, counted twice (the string and its UTF-8 bytes). */
    static final long MAX_BYTES = 4L << 20;

    private final transient ObjectWriter plain;
    private final transient Map<FlowEndpoint, SerializableString> encoded = new ConcurrentHashMap<>();
    private final AtomicLong bytes = new AtomicLong();
    private final AtomicInteger uncached = new AtomicInteger();

    EncodedSides(ObjectWriter plain) {
        super(FlowEndpoint.class);
        // written into the log's generator mid-line: no flush of its buffer for each side
        this.plain = plain.without(SerializationFeature.FLUSH_AFTER_WRITE_VALUE);
    }

    @Override
    public void serialize(FlowEndpoint side, JsonGenerator gen, SerializerProvider provider) throws IOException {
        SerializableString json = encoded.get(side);
        if (json == null) {
            if (encoded.size() >= MAX_SIDES || bytes.get() >= MAX_BYTES) {
                plain.writeValue(gen, side);
                if (uncached.incrementAndGet() >= MAX_SIDES) {
                    encoded.clear();
                    bytes.set(0);
                    uncached.set(0);
                }
                return;
            }
            json = new SerializedString(new String(plain.writeValueAsBytes(side), StandardCharsets.UTF_8));
            encoded.put(side, json);
            bytes.addAndGet(2L * json.charLength());
        }
        gen.writeRawValue(json);
    }

    int size() {
        return encoded.size();
    }
}
