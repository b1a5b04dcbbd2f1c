package io.septum.webui.internal;

import io.septum.api.EndpointManager;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** The UI's services as a test sets them; one not set answers the UI's 503 naming it, as the component does. */
final class FakeBackend implements UiBackend {
    private final Map<Class<?>, Object> services = new ConcurrentHashMap<>();
    volatile Map<Integer, Long> hits = Map.of();

    FakeBackend() {
        set(EndpointManager.class, new WebUiServerTest.Endpoints());
    }

    /** Binds {@code service} as the one of {@code type} (cluster policies: cluster mode's store; not set: standalone). */
    <T> void set(Class<T> type, T service) {
        services.put(type, service);
    }

    @Override
    public <T> T find(Class<T> type) {
        return type.cast(services.get(type));
    }

    @Override
    public Map<Integer, Long> ruleHits() {
        return hits;
    }
}
