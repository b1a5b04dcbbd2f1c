package io.septum.api.datapath;

import org.osgi.annotation.versioning.ConsumerType;

/** Whiteboard: receives every datapath event, on the datapath's reader thread. Return quickly. */
@ConsumerType
public interface DatapathEventListener {
    void onEvent(DatapathEvent event);
}
