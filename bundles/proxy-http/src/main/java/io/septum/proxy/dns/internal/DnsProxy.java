package io.septum.proxy.dns.internal;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.channel.socket.DatagramPacket;
import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowDns;
import io.septum.api.flow.FlowEndpoint;
import io.septum.api.flow.FlowIp;
import io.septum.api.flow.FlowL4;
import io.septum.api.flow.FlowL7;
import io.septum.proxy.common.EventLoopWatch;
import io.septum.proxy.common.ProxySockets;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The transparent DNS proxy: one UDP socket with IP_TRANSPARENT and IP_RECVORIGDSTADDR, to which the datapath
 * assigns the queries that DNS rules govern (each datagram keeps the server it was sent to as its original
 * destination). A query whose name no rule admits gets REFUSED; an admitted one goes to the original server from
 * a socket marked {@code upstreamMark} (so the server's node lets it in: the client's path was judged already),
 * and the answer goes back to the client from the original server's address and port (a transparent socket bound
 * there), the reply its connection tracking expects. The addresses of an answer to an admitted query are learned
 * in the FQDN cache. Each query and answer is a {@code dns-request} / {@code dns-response} flow.
 */
final class DnsProxy implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(DnsProxy.class.getName());
    /** The largest datagram read; EDNS answers may reach it. */
    private static final int MAX_DATAGRAM = 4096;

    /** What the proxy needs to judge a query. */
    interface Judge {
        Verdict judge(InetSocketAddress client, InetSocketAddress server, String name);

        /** Whether the agent has put these learned addresses in its ipcache (their allows are then in force). */
        boolean opened(List<String> addresses);
    }

    /** How long an answer waits for the allows its addresses open (Cilium holds answers the same way). */
    static final long OPEN_WAIT_MILLIS = 1000;

    /** A query's verdict and the flow names of its two sides. */
    record Verdict(boolean allowed, String rule, String policy, int ruleId, FlowEndpoint client, FlowEndpoint server,
                   long endpointId) {
    }

    /**
     * @param port            the listener's UDP port; 0 picks a free one
     * @param upstreamMark    SO_MARK of the sockets that forward queries (0: none)
     * @param timeoutMillis   how long an upstream answer is awaited
     * @param maxPending      queries forwarded and not yet answered, at most; more are dropped (the client retries)
     */
    record Settings(int port, int upstreamMark, long timeoutMillis, int maxPending) {
    }

    private final Settings settings;
    private final Judge judge;
    private final FqdnCacheImpl cache;
    private final Consumer<Flow> flows;
    private final AtomicInteger pending = new AtomicInteger();
    final LongAdder queries = new LongAdder();
    final LongAdder refused = new LongAdder();
    final LongAdder malformed = new LongAdder();
    final LongAdder timeouts = new LongAdder();
    private EventLoopGroup group;
    private final EventLoopWatch watch = new EventLoopWatch();
    private Channel listener;

    DnsProxy(Settings settings, Judge judge, FqdnCacheImpl cache, Consumer<Flow> flows) {
        this.settings = settings;
        this.judge = judge;
        this.cache = cache;
        this.flows = flows;
    }

    /** Binds the listener; returns its address. */
    InetSocketAddress start() {
        group = new EpollEventLoopGroup(1, new DefaultThreadFactory("septum-dns-proxy", true));
        watch.clear();
        watch.watch(group);
        Bootstrap b = new Bootstrap().group(group).channelFactory(IPV4)
                .option(EpollChannelOption.IP_TRANSPARENT, true)
                .option(EpollChannelOption.IP_RECVORIGDSTADDR, true)
                // no SO_REUSEADDR: another user's socket could then bind the same port and be handed the queries
                .handler(new SimpleChannelInboundHandler<DatagramPacket>() {
                    @Override
                    protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket p) {
                        query(p);
                    }
                });
        try {
            listener = b.bind(new InetSocketAddress("0.0.0.0", settings.port())).sync().channel();
        } catch (Exception e) {
            close();
            throw new IllegalStateException("cannot listen on UDP port " + settings.port() + ": " + e.getMessage(), e);
        }
        return (InetSocketAddress) listener.localAddress();
    }

    private void query(DatagramPacket p) {
        InetSocketAddress client = p.sender();
        InetSocketAddress server = p.recipient();
        byte[] bytes = ByteBufUtil.getBytes(p.content());
        DnsMessage q;
        try {
            q = DnsMessage.parse(bytes, bytes.length);
            if (q.response()) throw new DnsMessage.Malformed("is a response, not a query");
            if (q.opcode() != 0) throw new DnsMessage.Malformed("has opcode " + q.opcode() + ", not QUERY");
        } catch (DnsMessage.Malformed e) {
            malformed.increment();
            LOG.fine(() -> "DNS proxy: a datagram from " + client + " " + e.getMessage() + ": dropped");
            return;
        }
        queries.increment();
        long start = System.nanoTime();
        Verdict v;
        try {
            v = judge.judge(client, server, q.name());
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "DNS proxy: judging " + q.name() + " failed; refused", e);
            v = new Verdict(false, "the DNS proxy could not judge the query (fail closed)", null, 0, null, null, 0);
        }
        if (!v.allowed() && v.endpointId() == 0) {
            // not an endpoint of this node (the datapath redirects only endpoints' queries): no answer to reflect
            refused.increment();
            LOG.fine(() -> "DNS proxy: a query from " + client + ", no endpoint here: dropped");
            return;
        }
        flows.accept(flow(v, client, server, q, false, 0, List.of(), 0, 0));
        if (!v.allowed()) {
            refused.increment();
            answer(server, client, DnsMessage.answer(bytes, q, DnsMessage.RCODE_REFUSED));
            flows.accept(flow(v, client, server, q, true, DnsMessage.RCODE_REFUSED, List.of(), 0,
                    System.nanoTime() - start));
            return;
        }
        forward(bytes, q, client, server, v, start);
    }

    /** Sends the query on to the original server from a fresh, marked socket and relays its answer. */
    private void forward(byte[] query, DnsMessage q, InetSocketAddress client, InetSocketAddress server, Verdict v,
                         long start) {
        if (pending.incrementAndGet() > settings.maxPending()) {
            pending.decrementAndGet();
            LOG.fine(() -> "DNS proxy: " + settings.maxPending() + " queries pending; one from " + client + " dropped");
            return;
        }
        Bootstrap b = new Bootstrap().group(group).channelFactory(IPV4)
                .handler(new UpstreamHandler(p -> {
                    byte[] bytes = ByteBufUtil.getBytes(p.content());
                    DnsMessage a;
                    try {
                        a = DnsMessage.parse(bytes, bytes.length);
                    } catch (DnsMessage.Malformed e) {
                        malformed.increment();
                        return false; // not the answer: wait on for it
                    }
                    if (!p.sender().equals(server) || !a.response() || a.id() != q.id()) return false;
                    // the answer must be to this question: its addresses are learned under the query's name
                    if (!a.name().equals(q.name()) || a.qtype() != q.qtype()) return false;
                    List<String> held = cache.learn(q.name(), a.answers(), v.endpointId());
                    long ttl = a.answers().stream().mapToLong(DnsMessage.Answer::ttl).min().orElse(0);
                    // the client connects as soon as it has the answer: relay it once the allows are in place,
                    // also for addresses another lookup of the same name learned a moment ago
                    whenOpened(held, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(OPEN_WAIT_MILLIS), () -> {
                        answer(server, client, bytes);
                        flows.accept(flow(v, client, server, q, true, a.rcode(),
                                a.answers().stream().map(DnsMessage.Answer::ip).toList(), ttl,
                                System.nanoTime() - start));
                    });
                    return true;
                }, e -> LOG.log(Level.FINE, "DNS proxy: upstream socket error", e)));
        if (settings.upstreamMark() != 0) b.option(ProxySockets.SO_MARK, settings.upstreamMark());
        b.bind(new InetSocketAddress("0.0.0.0", 0)).addListener((ChannelFutureListener) bound -> {
            if (!bound.isSuccess()) {
                pending.decrementAndGet();
                LOG.log(Level.WARNING, "DNS proxy: no upstream socket: " + bound.cause().getMessage());
                return;
            }
            Channel ch = bound.channel();
            ch.closeFuture().addListener(f -> pending.decrementAndGet());
            ch.writeAndFlush(new DatagramPacket(Unpooled.wrappedBuffer(query), server));
            ch.eventLoop().schedule(() -> {
                if (ch.isOpen()) {
                    timeouts.increment();
                    ch.close();
                }
            }, settings.timeoutMillis(), TimeUnit.MILLISECONDS);
        });
    }

    /** Runs {@code then} on the event loop once the judge sees {@code addresses} opened, or at {@code deadlineNanos}. */
    private void whenOpened(List<String> addresses, long deadlineNanos, Runnable then) {
        boolean opened;
        try {
            opened = addresses.isEmpty() || judge.opened(addresses);
        } catch (RuntimeException e) {
            opened = true; // cannot tell: answer now rather than hold the client
        }
        if (opened || System.nanoTime() >= deadlineNanos) {
            then.run();
            return;
        }
        group.schedule(() -> whenOpened(addresses, deadlineNanos, then), 10, TimeUnit.MILLISECONDS);
    }

    /** Sends {@code bytes} to the client from the original server's address and port. */
    private void answer(InetSocketAddress from, InetSocketAddress to, byte[] bytes) {
        Bootstrap b = new Bootstrap().group(group).channelFactory(IPV4)
                .option(EpollChannelOption.IP_TRANSPARENT, true)
                .option(ChannelOption.SO_REUSEADDR, true)
                .handler(new io.netty.channel.ChannelInboundHandlerAdapter());
        b.bind(from).addListener((ChannelFutureListener) bound -> {
            if (!bound.isSuccess()) {
                LOG.log(Level.WARNING, "DNS proxy: cannot answer from " + from + ": " + bound.cause().getMessage());
                return;
            }
            bound.channel().writeAndFlush(new DatagramPacket(Unpooled.wrappedBuffer(bytes), to))
                    .addListener(ChannelFutureListener.CLOSE);
        });
    }

    /** IPv4 sockets: the IPv4 options (IP_TRANSPARENT, IP_RECVORIGDSTADDR) act on them as documented. */
    private static final io.netty.channel.ChannelFactory<EpollDatagramChannel> IPV4 =
            () -> new EpollDatagramChannel(io.netty.channel.socket.InternetProtocolFamily.IPv4);

    private static Flow flow(Verdict v, InetSocketAddress client, InetSocketAddress server, DnsMessage q,
                             boolean response, int rcode, List<String> ips, long ttl, long latencyNs) {
        long now = System.currentTimeMillis() * 1_000_000L + System.nanoTime() % 1_000_000L;
        String s = client.getAddress().getHostAddress();
        String d = server.getAddress().getHostAddress();
        FlowDns dns = new FlowDns(q.name() + ".", List.of(q.qtypeName()), ips, ttl, rcode);
        return new Flow(null, now, v.allowed() ? Flow.FORWARDED : Flow.DROPPED, 0, null,
                new FlowIp(s, d, s.contains(":") ? "IPv6" : "IPv4"),
                new FlowL4("UDP", client.getPort(), server.getPort(), List.of()), v.client(), v.server(), "L7",
                Flow.TYPE_L7, "EGRESS", Flow.TO_PROXY, Flow.MATCH_L7, v.endpointId(), v.ruleId(), v.policy(), v.rule(),
                response, new FlowL7(response ? "RESPONSE" : "REQUEST", latencyNs, null, dns));
    }

    /** Why the proxy's event loop is stuck, or null ({@link EventLoopWatch}). */
    String stuck() {
        return watch.stuck(EventLoopWatch.STUCK_MILLIS);
    }

    @Override
    public void close() {
        watch.clear(); // a proxy that failed to start or was stopped has no loop to be stuck
        if (listener != null) listener.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        if (group != null) group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(3, TimeUnit.SECONDS);
    }
}
