package io.septum.testsupport;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;

/** Loopback ports for a server a test starts itself (etcd's client and peer ports, for one). */
public final class TestPorts {
    private TestPorts() {
    }

    /**
     * {@code n} different ports that were free on loopback a moment ago. Every socket stays open until all ports
     * are known: closed one by one, the kernel may hand out the same port twice, and a server given it for two
     * listeners does not start. Another process can still take one before the server binds it.
     */
    public static int[] free(int n) throws IOException {
        ServerSocket[] sockets = new ServerSocket[n];
        try {
            int[] ports = new int[n];
            for (int i = 0; i < n; i++) {
                sockets[i] = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                ports[i] = sockets[i].getLocalPort();
            }
            return ports;
        } finally {
            for (ServerSocket s : sockets) {
                if (s != null) s.close();
            }
        }
    }
}
