package io.septum.observer.internal;

import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.septum.api.Endpoint;
import io.septum.api.EndpointState;
import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowFilter;
import io.septum.api.flow.FlowObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Optional;

/**
 * Fuzz target for the flow log reader: bytes as one segment file of the on-disk log ({@link FlowLog#read}), then
 * what the agent does with the flows it reloads: every query filter of {@code septum flow list} and the policy
 * suggester. The contract: reading a segment never fails (a torn or foreign line is skipped), every filter answers
 * true or false, and the suggester gives a policy or says that it saw nothing ({@link IllegalStateException}).
 * Seeds ({@code FlowLogFuzzTestInputs/read/}): segments written by the end-to-end tests, and torn ones.
 */
class FlowLogFuzzTest {
    private final FlowLog log = new FlowLog(Path.of("target/fuzz-flow-log"), 1 << 20, 1 << 16);
    private final List<FlowFilter> filters = List.of(
            FlowFilter.builder().verdict("DROPPED").build(),
            FlowFilter.builder().type("l7").build(),
            FlowFilter.builder().fromEndpoint("default/client").toEndpoint("7").build(),
            FlowFilter.builder().fromLabel(List.of("k8s:app=client")).toLabel(List.of("app")).build(),
            FlowFilter.builder().fromIp("10.0.0.0/8").toIp("fd00::/8").build(),
            FlowFilter.builder().namespace("default").protocol("icmp").port(80).build(),
            FlowFilter.builder().httpMethod("GET").httpPath("/v1").httpStatus("4+").build(),
            FlowFilter.builder().since(1L).until(Long.MAX_VALUE).build());

    @FuzzTest(maxDuration = "10m")
    void read(byte[] input) throws IOException {
        List<Flow> flows = log.read(new ByteArrayInputStream(input));
        for (Flow f : flows) {
            assertNotNull(f);
            for (FlowFilter filter : filters) filter.matches(f);
        }
        FlowObserver store = SuggesterTest.store(flows);
        for (Flow f : flows) {
            Endpoint ep = new Endpoint(f.endpointId(), "web", "default", "netns", List.of("k8s:app=web"), 300,
                    EndpointState.READY, List.of(), null, 0, null, false, false, null, 1, null);
            try {
                assertNotNull(new Suggester(store, q -> Optional.of(ep)).suggest(String.valueOf(f.endpointId()), null));
            } catch (IllegalStateException | NoSuchElementException nothingSeen) {
                // the documented answer for an endpoint without usable connections
            }
        }
    }
}
