package io.septum.proxy.http.internal;

import io.septum.api.flow.FlowEndpoint;
import io.septum.api.policy.HttpRequestInfo;
import java.net.InetSocketAddress;

/** Who may ask what: the policy that applies to one proxied connection. */
interface Judge {
    /** Once per connection, on the accepting thread: must not block for long. */
    ConnectionJudge connection(InetSocketAddress client, InetSocketAddress server);

    /** The verdict of one request: {@code rule} names the matching rule or says why none matched. */
    record Verdict(boolean allowed, String rule, String policy) {
    }

    interface ConnectionJudge {
        Verdict decide(HttpRequestInfo request);

        /** The sides as flows name them. */
        FlowEndpoint client();

        FlowEndpoint server();

        /** Whose policy governs: {@code INGRESS} (the server's) or {@code EGRESS} (the client's). */
        String direction();

        /** The endpoint whose policy governs, 0 when none is known. */
        long endpointId();

        /**
         * Whether the upstream leg leaves from the client's own address (a transparent source): towards an endpoint
         * of another node, whose node must see the client's identity, not this node's.
         */
        boolean keepClientAddress();
    }
}
