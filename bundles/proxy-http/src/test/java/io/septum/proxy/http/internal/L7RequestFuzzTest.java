package io.septum.proxy.http.internal;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.util.ReferenceCountUtil;
import io.septum.api.flow.Flow;
import io.septum.api.policy.PolicyEngine;
import java.net.InetAddress;
import java.lang.reflect.Proxy;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;

/**
 * Fuzz target for the L7 HTTP request path: raw bytes from a client connection through the proxy's own pipeline
 * ({@link GuardedRequestDecoder}, {@link HeaderDeadline}, {@link FrontendHandler} with its {@link PathNormalizer})
 * and the agent's {@link PolicyJudge} on the Star Wars L7 policy (tiefighter to deathstar:80). The contract: each
 * complete request is answered (400, 403, 413, 414, 431; the judge's verdict is checked, then every request is
 * denied, so that nothing leaves for an upstream), every flow it reports has a verdict, and the connection is never closed without an answer: the handler's
 * {@code exceptionCaught} closes silently, so a close with nothing written is an exception, a finding.
 * Seeds ({@code L7RequestFuzzTestInputs/request/}): the requests of {@code HttpProxyTest} and the smuggling shapes.
 */
class L7RequestFuzzTest {
    private static final Set<Integer> ANSWERS = Set.of(100, 400, 403, 408, 413, 414, 431, 503);
    private final PolicyJudgeTest fixture = new PolicyJudgeTest();
    private final List<Flow> flows = new ArrayList<>();
    private HttpProxy proxy;

    @BeforeEach
    void policy() throws Exception {
        if (proxy != null) return; // the fuzzer reuses the instance: load the policy once
        PolicyEngine engine = ServiceLoader.load(PolicyEngine.class).findFirst().orElseThrow();
        Path yaml = Path.of("../../examples/starwars/sw_l3_l4_l7_policy.yaml");
        fixture.current.set(engine.parse(yaml.toString(), Files.readString(yaml)));
        proxy = new HttpProxy(new ProxySettings(0, 64, 8192, 1 << 20, 1_500, 30_000, 2_000, 0, false),
                new Judged(new PolicyJudge(() -> fixture.em, () -> null, () -> fixture.repo)), flows::add, a -> a);
    }

    /**
     * The agent's judge, whose verdict is checked and then answered with a 403 either way: an allowed request would
     * open an upstream connection, and its failure would come back on another thread, outside this input.
     */
    private record Judged(Judge judge) implements Judge {
        @Override
        public ConnectionJudge connection(InetSocketAddress client, InetSocketAddress server) {
            ConnectionJudge c = judge.connection(client, server);
            // every other method answers as the real connection judge does
            return (ConnectionJudge) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {ConnectionJudge.class},
                    (self, method, args) -> {
                        Object answer = method.invoke(c, args);
                        if (!(answer instanceof Verdict v)) return answer;
                        assertNotNull(v.rule(), "a verdict names its rule or why none matched");
                        return new Verdict(false, v.rule(), v.policy());
                    });
        }
    }

    @FuzzTest(maxDuration = "10m")
    void request(byte[] input) {
        flows.clear();
        FrontendHandler front = new FrontendHandler(proxy);
        HeaderDeadline deadline = new HeaderDeadline(proxy.settings().headerTimeoutMillis(), front::headerTimeout);
        front.deadline(deadline);
        EmbeddedChannel ch = new Connection(deadline, new GuardedRequestDecoder(proxy.settings().maxHeaderBytes()), front);
        List<Integer> answers = new ArrayList<>();
        try {
            ch.writeInbound(Unpooled.wrappedBuffer(input));
            ch.runPendingTasks();
            for (Object out; (out = ch.readOutbound()) != null; ) {
                if (out instanceof HttpResponse r) answers.add(r.status().code());
                ReferenceCountUtil.release(out);
            }
            assertFalse(!ch.isOpen() && answers.isEmpty(), "the connection was closed without an answer: an exception in the handler");
        } finally {
            ch.finishAndReleaseAll();
        }
        for (int code : answers) assertTrue(ANSWERS.contains(code), "unexpected answer " + code);
        for (Flow f : flows) assertNotNull(f.verdict(), "a flow without a verdict: " + f);
    }

    /** A client connection from tiefighter (10.199.1.3) to deathstar:80 (10.199.1.1). */
    private static final class Connection extends EmbeddedChannel {
        Connection(io.netty.channel.ChannelHandler... handlers) {
            super(handlers);
        }

        @Override
        protected SocketAddress remoteAddress0() {
            return address("10.199.1.3", 40000);
        }

        @Override
        protected SocketAddress localAddress0() {
            return address("10.199.1.1", 80);
        }

        private static InetSocketAddress address(String ip, int port) {
            try {
                return new InetSocketAddress(InetAddress.getByName(ip), port);
            } catch (UnknownHostException e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
