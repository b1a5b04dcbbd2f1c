package io.septum.services.internal;

import io.septum.api.service.ServiceSpec;
import io.septum.api.service.ServiceValidationException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses and validates what operators write; every error names the service, the field and the reason. */
final class ServiceSpecs {
    static final int MAX_BACKENDS = 1024;
    private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
    private static final Pattern IPV4 = Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})");
    private static final Pattern ENDPOINT_NAME = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9._-]{0,252})?");

    private ServiceSpecs() {
    }

    /** A backend as written: an endpoint reference ({@code namespace/name}) or an IP, with a port (0 = frontend's). */
    record BackendRef(String target, boolean isIp, int port) {
        String display() {
            return port == 0 ? target : target + ":" + port;
        }
    }

    /** A valid spec, normalised. */
    record Valid(String name, String namespace, String frontendIp, int frontendPort, String protocol, List<BackendRef> backends) {
        String qualifiedName() {
            return namespace + "/" + name;
        }
    }

    static Valid validate(ServiceSpec spec) throws ServiceValidationException {
        if (spec == null) throw new ServiceValidationException("service: no specification given");
        String name = spec.name() == null ? "" : spec.name().trim();
        String what = "service " + (name.isEmpty() ? "(unnamed)" : "\"" + name + "\"");
        if (name.isEmpty()) throw new ServiceValidationException(what + ": field name: required");
        if (!DNS_LABEL.matcher(name).matches()) {
            throw new ServiceValidationException(what + ": field name: \"" + name
                    + "\" is not a DNS label (lower-case letters, digits and '-', at most 63, starting and ending alphanumeric)");
        }
        String ns = spec.namespace() == null || spec.namespace().isBlank() ? "default" : spec.namespace().trim();
        if (!DNS_LABEL.matcher(ns).matches()) {
            throw new ServiceValidationException(what + ": field namespace: \"" + ns + "\" is not a DNS label");
        }
        what = "service " + ns + "/" + name;
        String fe = spec.frontend() == null ? "" : spec.frontend().trim();
        if (fe.isEmpty()) throw new ServiceValidationException(what + ": field frontend: required (IP:PORT or IP:PORT/tcp)");
        String protocol = "TCP";
        int slash = fe.indexOf('/');
        if (slash >= 0) {
            protocol = fe.substring(slash + 1).trim().toUpperCase(Locale.ROOT);
            if (!protocol.equals("TCP") && !protocol.equals("UDP")) {
                throw new ServiceValidationException(what + ": field frontend: protocol \"" + fe.substring(slash + 1)
                        + "\" is not tcp or udp");
            }
            fe = fe.substring(0, slash).trim();
        }
        int colon = fe.lastIndexOf(':');
        if (colon < 0) throw new ServiceValidationException(what + ": field frontend: \"" + spec.frontend() + "\" has no port (expected IP:PORT)");
        String ip = fe.substring(0, colon);
        String err = checkIpv4(ip);
        if (err != null) throw new ServiceValidationException(what + ": field frontend: " + err);
        if (ip.equals("0.0.0.0") || ip.startsWith("127.") || ip.equals("255.255.255.255") || firstOctet(ip) >= 224) {
            throw new ServiceValidationException(what + ": field frontend: " + ip
                    + " cannot be a virtual IP (unspecified, loopback, multicast or broadcast)");
        }
        int port = port(fe.substring(colon + 1), what + ": field frontend");
        if (port == 0) throw new ServiceValidationException(what + ": field frontend: port 0 is not a port");

        List<BackendRef> backends = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        if (spec.backends().size() > MAX_BACKENDS) {
            throw new ServiceValidationException(what + ": field backends: " + spec.backends().size()
                    + " backends, at most " + MAX_BACKENDS);
        }
        for (int i = 0; i < spec.backends().size(); i++) {
            String raw = spec.backends().get(i);
            String field = what + ": field backends[" + i + "]";
            BackendRef b = backend(raw, ns, field);
            String key = b.target() + ":" + (b.port() == 0 ? port : b.port());
            if (!seen.add(key)) throw new ServiceValidationException(field + ": \"" + raw + "\" is listed twice");
            backends.add(b);
        }
        return new Valid(name, ns, ip, port, protocol, List.copyOf(backends));
    }

    private static BackendRef backend(String raw, String serviceNamespace, String field) throws ServiceValidationException {
        String s = raw == null ? "" : raw.trim();
        if (s.isEmpty()) throw new ServiceValidationException(field + ": empty backend (expected ENDPOINT[:PORT] or IP[:PORT])");
        int port = 0;
        int colon = s.lastIndexOf(':');
        if (colon >= 0) {
            port = port(s.substring(colon + 1), field);
            if (port == 0) throw new ServiceValidationException(field + ": port 0 is not a port");
            s = s.substring(0, colon);
        }
        if (IPV4.matcher(s).matches()) {
            String err = checkIpv4(s);
            if (err != null) throw new ServiceValidationException(field + ": " + err);
            return new BackendRef(s, true, port);
        }
        if (s.contains(":")) throw new ServiceValidationException(field + ": \"" + raw + "\": IPv6 backends are not supported");
        String ns = serviceNamespace;
        String name = s;
        int slash = s.indexOf('/');
        if (slash >= 0) {
            ns = s.substring(0, slash);
            name = s.substring(slash + 1);
            if (!DNS_LABEL.matcher(ns).matches()) {
                throw new ServiceValidationException(field + ": namespace \"" + ns + "\" of \"" + raw + "\" is not a DNS label");
            }
        }
        if (!ENDPOINT_NAME.matcher(name).matches()) {
            throw new ServiceValidationException(field + ": \"" + raw
                    + "\" is neither an IPv4 address nor an endpoint name (letters, digits, '.', '_', '-')");
        }
        return new BackendRef(ns + "/" + name, false, port);
    }

    private static int port(String text, String field) throws ServiceValidationException {
        try {
            int p = Integer.parseInt(text.trim());
            if (p < 0 || p > 65535) throw new NumberFormatException();
            return p;
        } catch (NumberFormatException e) {
            throw new ServiceValidationException(field + ": port \"" + text + "\" is not a number in 1-65535");
        }
    }

    /** Null when {@code ip} is a dotted IPv4 literal, else why not. */
    static String checkIpv4(String ip) {
        Matcher m = IPV4.matcher(ip);
        if (!m.matches()) {
            return "\"" + ip + "\" is not an IPv4 address" + (ip.contains(":") ? " (services are IPv4 only)" : "");
        }
        for (int i = 1; i <= 4; i++) {
            if (Integer.parseInt(m.group(i)) > 255) return "\"" + ip + "\" is not an IPv4 address (octet " + m.group(i) + " > 255)";
        }
        return null;
    }

    private static int firstOctet(String ip) {
        return Integer.parseInt(ip.substring(0, ip.indexOf('.')));
    }
}
