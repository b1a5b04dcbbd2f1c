package io.septum.apiserver.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** A route that takes a fixed set of query parameters answers any other with a 400 naming it and the ones it takes. */
class UnknownParameterTest {
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "/v1/policy/history?name=rule1&bogus=1 | unknown parameter bogus (namespace, name, limit)",
        "/v1/policy/suggest?endpoint=1&bogus=1 | unknown parameter bogus (endpoint, since)",
        "/v1/fqdn/cache?bogus=1                | unknown parameter bogus (name)",
    })
    void isA400NamingTheKnownOnes(String target, String message) {
        HttpResponse r = new ApiRoutes(new ApiServerSocketTest.EmptyBackend()).handle(
                new HttpRequest("GET", target, "HTTP/1.1", Map.of(), new byte[0]));
        String body = new String(r.body(), StandardCharsets.UTF_8);
        assertEquals(400, r.status(), body);
        assertTrue(body.contains(message), body);
    }
}
