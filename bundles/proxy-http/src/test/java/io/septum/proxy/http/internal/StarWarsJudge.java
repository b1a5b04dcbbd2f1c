package io.septum.proxy.http.internal;

import io.septum.api.flow.FlowEndpoint;
import io.septum.api.policy.HttpRequestInfo;
import java.net.InetSocketAddress;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The L7 part of the Star Wars demo's rule1 as a {@link Judge}, for proxy tests that run without the policy engine:
 * only {@code POST /v1/request-landing} is admitted, on the ingress side. Each test says which endpoint's policy
 * governs and how its flows name the two sides; every request judged is handed to {@code seen}.
 */
final class StarWarsJudge implements Judge {
    private final long endpointId;
    private final Function<InetSocketAddress, FlowEndpoint> client;
    private final Function<InetSocketAddress, FlowEndpoint> server;
    private final Consumer<HttpRequestInfo> seen;

    StarWarsJudge(long endpointId, Function<InetSocketAddress, FlowEndpoint> client,
            Function<InetSocketAddress, FlowEndpoint> server, Consumer<HttpRequestInfo> seen) {
        this.endpointId = endpointId;
        this.client = client;
        this.server = server;
        this.seen = seen;
    }

    @Override
    public ConnectionJudge connection(InetSocketAddress from, InetSocketAddress to) {
        return new Connection(client.apply(from), server.apply(to), endpointId, seen);
    }

    /** One connection: the record's components answer for its sides and its endpoint. */
    private record Connection(FlowEndpoint client, FlowEndpoint server, long endpointId, Consumer<HttpRequestInfo> seen)
            implements ConnectionJudge {
        @Override
        public Verdict decide(HttpRequestInfo r) {
            seen.accept(r);
            boolean ok = r.method().equals("POST") && "/v1/request-landing".equals(r.path());
            return new Verdict(ok, ok ? "default/rule1 ingress[0]" : "no HTTP rule matches", ok ? "default/rule1" : null);
        }

        @Override
        public String direction() {
            return "INGRESS";
        }

        @Override
        public boolean keepClientAddress() {
            return false;
        }
    }
}
