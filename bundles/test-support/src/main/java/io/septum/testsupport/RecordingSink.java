package io.septum.testsupport;

import io.septum.api.EndpointSink;
import io.septum.api.EndpointSpec;
import io.septum.api.SourceHealth;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The endpoint sink an endpoint source's tests open it with: it keeps what the endpoint manager would know (the
 * reported endpoints by source id, which a resync trims to its live list) and every call in order, so a test can
 * assert on either. Safe to call from the source's own thread while the test reads.
 */
public final class RecordingSink implements EndpointSink {
    private final String refusesNamespacesAs;
    private final Map<String, EndpointSpec> specs = new ConcurrentHashMap<>();
    private final List<EndpointSpec> upserts = new CopyOnWriteArrayList<>();
    private final List<String> removes = new CopyOnWriteArrayList<>();
    private final List<String> calls = new CopyOnWriteArrayList<>();
    private final List<List<String>> resyncs = new CopyOnWriteArrayList<>();
    private final List<SourceHealth> health = new CopyOnWriteArrayList<>();
    private final Map<String, Map<String, String>> namespaceLabels = new ConcurrentHashMap<>();

    private RecordingSink(String refusesNamespacesAs) {
        this.refusesNamespacesAs = refusesNamespacesAs;
    }

    /** For a source without namespace objects: namespace labels from it fail the test. */
    public static RecordingSink withoutNamespaces(String source) {
        return new RecordingSink(source);
    }

    /** For a source whose backend has namespace objects (Kubernetes): their labels are recorded. */
    public static RecordingSink withNamespaces() {
        return new RecordingSink(null);
    }

    @Override
    public void upsert(EndpointSpec spec) {
        specs.put(spec.sourceId(), spec);
        upserts.add(spec);
        calls.add("upsert " + spec.sourceId());
    }

    @Override
    public void remove(String sourceId) {
        specs.remove(sourceId);
        removes.add(sourceId);
        calls.add("remove " + sourceId);
    }

    @Override
    public void resync(Collection<String> liveSourceIds) {
        resyncs.add(List.copyOf(liveSourceIds));
        specs.keySet().retainAll(liveSourceIds);
    }

    @Override
    public void namespaceLabels(String namespace, Map<String, String> labels) {
        if (refusesNamespacesAs != null) {
            throw new AssertionError("the " + refusesNamespacesAs + " source has no namespace objects, yet set labels of "
                    + namespace);
        }
        namespaceLabels.put(namespace, labels);
    }

    @Override
    public void health(SourceHealth h) {
        health.add(h);
    }

    /** The endpoints as reported and not removed or left out of a resync since, by source id (a live view). */
    public Map<String, EndpointSpec> specs() {
        return specs;
    }

    /** Every upsert, in order (a live view). */
    public List<EndpointSpec> upserts() {
        return upserts;
    }

    /** The last upsert of {@code sourceId}, even if it was removed since; null when there was none. */
    public EndpointSpec lastUpsert(String sourceId) {
        for (int i = upserts.size() - 1; i >= 0; i--) {
            if (upserts.get(i).sourceId().equals(sourceId)) return upserts.get(i);
        }
        return null;
    }

    /** How many times {@code sourceId} was upserted. */
    public long upserted(String sourceId) {
        return upserts.stream().filter(s -> s.sourceId().equals(sourceId)).count();
    }

    /** Every removal's source id, in order (a live view). */
    public List<String> removes() {
        return removes;
    }

    /** Upserts and removals in the order they came, as "upsert ID" and "remove ID" (a copy). */
    public List<String> calls() {
        return List.copyOf(calls);
    }

    /** Every resync's live list, in order (a live view). */
    public List<List<String>> resyncs() {
        return resyncs;
    }

    /** The live list of the last resync; empty before the first. */
    public List<String> lastResync() {
        List<List<String>> all = List.copyOf(resyncs);
        return all.isEmpty() ? List.of() : all.get(all.size() - 1);
    }

    /** Every health report, in order (a live view). */
    public List<SourceHealth> health() {
        return health;
    }

    /** The last health report; null before the first. */
    public SourceHealth lastHealth() {
        List<SourceHealth> all = List.copyOf(health);
        return all.isEmpty() ? null : all.get(all.size() - 1);
    }

    /** The namespace labels last set, by namespace (a live view). */
    public Map<String, Map<String, String>> namespaceLabels() {
        return namespaceLabels;
    }

    @Override
    public String toString() {
        return "specs " + specs.keySet() + ", health " + health;
    }
}
