package io.septum.apiserver.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.policy.ImportResult;
import io.septum.api.policy.PolicyRepository;
import io.septum.api.policy.PolicySet;
import io.septum.testsupport.StubPolicyRepository;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A change the agent cannot write to disk is refused with what to do, not called an internal error. */
class StateWriteErrorTest {
    private static HttpResponse importWith(IOException cause) {
        PolicyRepository repo = new StubPolicyRepository() {
            @Override
            public ImportResult importPolicies(String origin, String text) {
                throw new UncheckedIOException("cannot write policy state to /var/lib/septum/policies/state.json: "
                        + cause.getMessage(), cause);
            }

            @Override
            public long revision() {
                return 0;
            }

            @Override
            public PolicySet current() {
                return null;
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
