package io.septum.support.thread;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The listeners of a component, told on whatever thread announces the change: they may be added and removed from any
 * thread meanwhile, and one that throws is logged and passed over, so that the others still hear of the change and
 * the announcing thread (a notifier, a lease renewal) goes on.
 *
 * @param <T> the listener type ({@link Runnable}, or a listener interface of the API)
 */
public final class Listeners<T> {
    private final List<T> listeners = new CopyOnWriteArrayList<>();
    private final Logger log;
    private final String failure;

    /** @param failure the warning logged, with the exception, when a listener throws ("an FQDN cache listener failed") */
    public Listeners(Logger log, String failure) {
        this.log = log;
        this.failure = failure;
    }

    public void add(T listener) {
        listeners.add(listener);
    }

    public void remove(T listener) {
        listeners.remove(listener);
    }

    /** Calls {@code tell} with each listener in the order they were added; a {@link RuntimeException} is logged. */
    public void tell(Consumer<T> tell) {
        for (T l : listeners) {
            try {
                tell.accept(l);
            } catch (RuntimeException e) {
                log.log(Level.WARNING, failure, e);
            }
        }
    }
}
