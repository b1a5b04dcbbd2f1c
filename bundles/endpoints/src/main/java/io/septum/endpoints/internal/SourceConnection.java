package io.septum.endpoints.internal;

import io.septum.api.EndpointSink;
import io.septum.api.EndpointSource;
import io.septum.api.EndpointSpec;
import io.septum.api.SourceHealth;
import java.util.Collection;
import java.util.Map;
import java.util.Set;

/**
 * A bound endpoint source and the sink it reports to. What it reports goes to the endpoint manager's
 * {@link Reports}; nothing does after {@link #closed} is set (the source was unbound).
 */
final class SourceConnection implements EndpointSink {
    /** What the manager does with a source's reports. */
    interface Reports {
        void upsert(SourceConnection from, EndpointSpec spec);

        void remove(SourceConnection from, String sourceId);

        void resync(SourceConnection from, Set<String> liveSourceIds);

        void namespaceLabels(SourceConnection from, String namespace, Map<String, String> labels);
    }

    final String name;
    final EndpointSource source;
    private final Reports reports;
    volatile boolean closed;
    volatile long lastSync;
    volatile SourceHealth health;
    /** System.nanoTime() when its open() was called, while it has not returned; 0 otherwise. */
    volatile long openingSince;
    /** Its reports, to name it in status when it floods. */
    final ReportRate rate = new ReportRate();

    SourceConnection(String name, EndpointSource source, Reports reports) {
        this.name = name;
        this.source = source;
        this.reports = reports;
    }

    @Override
    public void upsert(EndpointSpec spec) {
        if (closed) return;
        rate.record(spec.sourceId());
        reports.upsert(this, spec);
    }

    @Override
    public void remove(String sourceId) {
        if (closed) return;
        rate.record(sourceId);
        reports.remove(this, sourceId);
    }

    @Override
    public void resync(Collection<String> liveSourceIds) {
        if (closed) return;
        lastSync = System.currentTimeMillis();
        reports.resync(this, Set.copyOf(liveSourceIds));
    }

    @Override
    public void namespaceLabels(String namespace, Map<String, String> labels) {
        if (!closed) reports.namespaceLabels(this, namespace, labels);
    }

    @Override
    public void health(SourceHealth h) {
        if (!closed) health = h;
    }
}
