package io.septum.apiserver.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.policy.ImportResult;
import io.septum.api.policy.PolicyInfo;
import io.septum.api.policy.PolicyRepository;
import io.septum.api.policy.PolicySet;
import io.septum.api.policy.EnforcementMode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** A change the agent cannot write to disk is refused with what to do, not called an internal error. */
class StateWriteErrorTest {
    private static HttpResponse importWith(IOException cause) {
        PolicyRepository repo = new PolicyRepository() {
            @Override
            public ImportResult importPolicies(String origin, String text) {
                throw new UncheckedIOException("cannot write policy state to /var/lib/septum/policies/state.json: "
                        + cause.getMessage(), cause);
            }

            @Override
            public List<PolicyInfo> list() {
                return List.of();
            }

            @Override
            public Optional<PolicyInfo> get(String namespace, String name) {
                return Optional.empty();
            }

            @Override
            public long delete(String namespace, String name) {
                return 0;
            }

            @Override
            public long revision() {
                return 0;
            }

            @Override
            public PolicySet current() {
                return null;
            }

            @Override
            public EnforcementMode mode() {
                return EnforcementMode.DEFAULT;
            }
        };
        ApiRoutes routes = new ApiRoutes(new ApiServerSocketTest.EmptyBackend() {
            @Override
            public PolicyRepository policyRepository() {
                return repo;
            }
        });
        return routes.handle(new HttpRequest("POST", "/v1/policies", "HTTP/1.1", Map.of(), "kind: x".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void aFullDiskIs507AndOtherWriteErrorsSayWhatFailed() {
        HttpResponse full = importWith(new IOException("No space left on device"));
        assertEquals(507, full.status());
        String body = new String(full.body(), StandardCharsets.UTF_8);
        assertTrue(body.contains("the agent's state disk is full, nothing changed"), body);
        HttpResponse other = importWith(new IOException("Read-only file system"));
        assertEquals(500, other.status());
        String text = new String(other.body(), StandardCharsets.UTF_8);
        assertTrue(text.contains("could not read or write its files, nothing changed") && text.contains("Read-only"), text);
        assertTrue(!text.contains("internal error"), text);
    }
}
