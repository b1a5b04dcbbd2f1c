package io.septum.apiserver.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.policy.CaseResult;
import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.PolicyEngine;
import io.septum.api.policy.PolicySet;
import io.septum.api.policy.PolicyValidationException;
import io.septum.api.policy.TestCase;
import io.septum.api.policy.ValidationError;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code POST /v1/policy/validate}: a draft the engine accepts is {"valid": true}; one it refuses is a 400 naming why. */
class PolicyValidateRouteTest {
    /** An engine that refuses every text containing "bad", naming the field. */
    private static final PolicyEngine ENGINE = new PolicyEngine() {
        @Override
        public PolicySet parse(String origin, String text) throws PolicyValidationException {
            if (text.contains("bad")) {
                throw new PolicyValidationException(List.of(new ValidationError(origin, 1, "CiliumNetworkPolicy", "p1",
                        "spec.ingress[0].toPorts[0].ports[0].port", "\"bad\" is not a port")));
            }
            return null; // validate keeps nothing of the parsed set
        }

        @Override
        public PolicySet empty() {
            throw new UnsupportedOperationException("not used by validate");
        }

        @Override
        public TestCase parseCase(String origin, String text) {
            throw new UnsupportedOperationException("not used by validate");
        }

        @Override
        public CaseResult evaluate(TestCase testCase, EnforcementMode mode) {
            throw new UnsupportedOperationException("not used by validate");
        }
    };

    private static HttpResponse validate(String body) {
        ApiRoutes routes = new ApiRoutes(new ApiServerSocketTest.EmptyBackend() {
            @Override
            public PolicyEngine policyEngine() {
                return ENGINE;
            }
        });
        return routes.handle(new HttpRequest("POST", "/v1/policy/validate", "HTTP/1.1", Map.of("x-septum-origin", "draft.yaml"),
                body.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void anAcceptedDraftIsValidTrue() {
        HttpResponse r = validate("kind: CiliumNetworkPolicy");
        assertEquals(200, r.status());
        assertEquals("{\"valid\":true}", new String(r.body(), StandardCharsets.UTF_8));
    }

    @Test
    void aRefusedDraftIs400WithTheFieldAndReason() {
        HttpResponse r = validate("port: bad");
        assertEquals(400, r.status());
        String body = new String(r.body(), StandardCharsets.UTF_8);
        assertTrue(body.contains("spec.ingress[0].toPorts[0].ports[0].port") && body.contains("is not a port"), body);
        assertTrue(body.contains("draft.yaml"), "the origin names the file: " + body);
    }
}
