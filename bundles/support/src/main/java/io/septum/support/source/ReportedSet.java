package io.septum.support.source;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.BiPredicate;
import java.util.function.Function;

/**
 * What a source last reported to its sink, by id, so that it reports only what changed: {@link #update} says whether
 * an upsert is due, {@link #remove} whether a removal is, and {@link #retainAll} forgets what a full listing no
 * longer shows (the sink's own resync removes those on its side). The source makes the sink calls itself, outside
 * whatever lock it holds. Not thread-safe.
 *
 * <p>This package is embedded privately by each bundle that uses it ({@code -conditionalpackage}); it is not an API
 * and is never imported between bundles.
 *
 * @param <T> what is reported (an endpoint spec); {@code equals} decides whether it changed
 */
public final class ReportedSet<T> {
    private final Function<T, String> idOf;
    private final Map<String, T> reported = new HashMap<>();

    /** @param idOf the id under which the sink knows a reported item (an endpoint's source id) */
    public ReportedSet(Function<T, String> idOf) {
        this.idOf = idOf;
    }

    /** Records {@code item}; true when it differs from what was last reported under its id (report it). */
    public boolean update(T item) {
        Objects.requireNonNull(item, "item");
        String id = idOf.apply(item);
        if (item.equals(reported.get(id))) return false;
        reported.put(id, item);
        return true;
    }

    /** Forgets {@code id}; true when it had been reported (report its removal). */
    public boolean remove(String id) {
        return reported.remove(id) != null;
    }

    /** Forgets every id for which {@code gone} holds, given the item last reported; returns those ids. */
    public List<String> removeIf(BiPredicate<String, T> gone) {
        List<String> removed = new ArrayList<>();
        for (var it = reported.entrySet().iterator(); it.hasNext(); ) {
            var e = it.next();
            if (gone.test(e.getKey(), e.getValue())) {
                it.remove();
                removed.add(e.getKey());
            }
        }
        return removed;
    }

    /** After a full listing: forgets every id not in {@code live}. */
    public void retainAll(Collection<String> live) {
        reported.keySet().retainAll(live);
    }

    /** What was last reported under {@code id}, or null. */
    public T get(String id) {
        return reported.get(id);
    }

    public boolean contains(String id) {
        return reported.containsKey(id);
    }

    public int size() {
        return reported.size();
    }

    /** Forgets everything (a new sink, or the source closes). */
    public void clear() {
        reported.clear();
    }
}
