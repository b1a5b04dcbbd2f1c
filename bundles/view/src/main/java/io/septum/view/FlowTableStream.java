package io.septum.view;

import io.septum.api.flow.Flow;
import java.util.Arrays;
import java.util.List;

/**
 * {@code observe -o table} while flows stream in ({@code --follow}, {@code --cluster}): each flow is laid out as
 * {@link Views#flows} lays out a table of that one flow, and the header goes out with the first flow only, so the
 * console reads as one table. Rows already printed cannot be widened, so each row is only as wide as its own cells.
 * One per stream; not for use from several threads at once.
 */
public final class FlowTableStream {
    private final boolean nodes;
    private boolean headerShown;

    /** With {@code nodes}, the observing node comes first ({@code observe --cluster}). */
    public FlowTableStream(boolean nodes) {
        this.nodes = nodes;
    }

    /** The lines to print for {@code f}, without line ends: the header, then the row, the first time; the row after. */
    public List<String> lines(Flow f) {
        List<String> lines = Arrays.asList(Views.flows(List.of(f), nodes).render().split("\n"));
        if (headerShown) return lines.subList(1, lines.size());
        headerShown = true;
        return lines;
    }
}
