package io.septum.status.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.AgentStatus;
import io.septum.api.ComponentStatus;
import io.septum.api.EndpointManager;
import io.septum.api.HealthReporter;
import io.septum.api.IdentityAllocator;
import io.septum.api.flow.FlowObserver;
import io.septum.api.policy.PolicyRepository;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** Status while everything is down: every missing service is a failed line, and status itself never fails. */
class StatusAssemblerTest {
    private static StatusAssembler.Sources nothing(List<HealthReporter> reporters) {
        return new StatusAssembler.Sources() {
            public PolicyRepository policyRepository() { return null; }
            public EndpointManager endpointManager() { return null; }
            public IdentityAllocator identityAllocator() { return null; }
            public boolean datapathRunning() { return false; }
            public FlowObserver flowObserver() { return null; }
            public List<HealthReporter> healthReporters() { return reporters; }
            public OptionalLong readySince() { return OptionalLong.empty(); }
            public long startedAt() { return System.currentTimeMillis() - 1000; }
            public String version() { return "test"; }
        };
    }

    @Test
    void missingServicesAreFailedLinesAndAThrowingReporterIsOneToo() {
        HealthReporter broken = () -> {
            throw new IllegalStateException("boom");
        };
        AgentStatus s = new StatusAssembler(nothing(List.of(() -> ComponentStatus.ok("api-server", "listening"), broken)))
                .status();
        assertFalse(s.ready());
        assertEquals(-1, s.startToReadyMillis());
        assertEquals("unknown", s.enforcementMode());
        for (String name : List.of("policy", "endpoints", "identity", "datapath")) {
            assertTrue(s.components().contains(ComponentStatus.failed(name, "not running")), name + ": " + s.components());
        }
        assertTrue(s.components().contains(ComponentStatus.ok("api-server", "listening")), s.components().toString());
        assertTrue(s.components().stream().anyMatch(c -> c.state().equals("failed") && c.message().contains("boom")),
                s.components().toString());
        assertEquals(null, s.flows());
    }
}
