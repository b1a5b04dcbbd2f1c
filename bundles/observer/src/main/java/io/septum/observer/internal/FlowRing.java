package io.septum.observer.internal;

import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowFilter;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** The last {@code capacity} flows, oldest first: adding to a full ring forgets the oldest. */
final class FlowRing {
    private final Flow[] slots;
    private int head; // index of the oldest
    private int size;

    FlowRing(int capacity) {
        if (capacity < 1) throw new IllegalArgumentException("the flow ring needs a capacity of at least 1, not " + capacity);
        this.slots = new Flow[capacity];
    }

    synchronized void add(Flow f) {
        int tail = (head + size) % slots.length;
        slots[tail] = f;
        if (size < slots.length) size++;
        else head = (head + 1) % slots.length;
    }

    synchronized int size() {
        return size;
    }

    int capacity() {
        return slots.length;
    }

    /** Time of the oldest flow held, or {@code Long.MAX_VALUE} when empty. */
    synchronized long oldestNanos() {
        return size == 0 ? Long.MAX_VALUE : slots[head].timeNanos();
    }

    /** The last {@code last} matching flows ({@code last <= 0}: all), oldest first. */
    synchronized List<Flow> query(FlowFilter filter, int last) {
        int want = last <= 0 ? Integer.MAX_VALUE : last;
        ArrayDeque<Flow> out = new ArrayDeque<>();
        for (int i = size - 1; i >= 0 && out.size() < want; i--) {
            Flow f = slots[(head + i) % slots.length];
            if (filter.matches(f)) out.addFirst(f);
        }
        return Collections.unmodifiableList(new ArrayList<>(out));
    }
}
