package io.septum.proxy.common;

import io.netty.channel.unix.IntegerUnixChannelOption;

/** Socket options the proxies set that Netty's epoll transport has no named option for. */
public final class ProxySockets {
    /** setsockopt(SOL_SOCKET, SO_MARK). */
    public static final IntegerUnixChannelOption SO_MARK = new IntegerUnixChannelOption("SO_MARK", 1, 36);

    private ProxySockets() {
    }
}
