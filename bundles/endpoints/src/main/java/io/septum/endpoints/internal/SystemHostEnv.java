package io.septum.endpoints.internal;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** The real host: sysfs for interface indexes, the JDK's interface list for the host's addresses. */
final class SystemHostEnv implements HostEnv {
    @Override
    public int ifindex(String interfaceName) throws IOException {
        if (interfaceName.contains("/") || interfaceName.startsWith(".")) {
            throw new IOException("interface name \"" + interfaceName + "\" is not valid");
        }
        Path p = Path.of("/sys/class/net", interfaceName, "ifindex");
        // read with one open, one read and one close: every regeneration pass reads this for every endpoint, and
        // Files.readString took about twice as long (docs/benchmarks.md)
        byte[] buf = new byte[16];
        int n;
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "r")) {
            n = f.read(buf);
        } catch (FileNotFoundException e) {
            // the JDK reports any failed open so; only a missing file means a missing interface
            if (Files.exists(p)) throw new IOException("cannot read " + p + ": " + e.getMessage(), e);
            throw new IOException("interface " + interfaceName + " does not exist in the host network namespace ("
                    + p + " is missing); check the endpoint's interface name or that its veth is up");
        }
        try {
            return Integer.parseInt(new String(buf, 0, Math.max(n, 0), StandardCharsets.US_ASCII).trim());
        } catch (NumberFormatException e) {
            throw new IOException("cannot read the index of interface " + interfaceName + " from " + p);
        }
    }

    @Override
    public List<String> hostAddresses() {
        List<String> out = new ArrayList<>();
        try {
            for (NetworkInterface nif : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                for (InetAddress a : Collections.list(nif.getInetAddresses())) {
                    if (a.isLinkLocalAddress()) continue;
                    String s = a.getHostAddress();
                    int pct = s.indexOf('%');
                    if (pct >= 0) s = s.substring(0, pct);
                    out.add(a instanceof Inet6Address ? IpAddresses.canonical(s) : s);
                }
            }
        } catch (SocketException e) {
            // Without them the host is seen as world; policy on reserved:host then fails closed, not open.
            return List.of();
        }
        return out;
    }
}
