package io.septum.api;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * A port an endpoint declares under a name, as a Kubernetes {@code containerPort} does: policies may name it
 * ({@code port: http}) and each destination endpoint resolves the name to its own number.
 *
 * @param name     an IANA service name ({@link #nameProblem})
 * @param port     1-65535
 * @param protocol {@code TCP} (the default when null), {@code UDP} or {@code SCTP}
 * @since 2.2
 */
public record NamedPort(String name, int port, String protocol) {
    private static final Set<String> PROTOCOLS = Set.of("TCP", "UDP", "SCTP");

    public NamedPort {
        String problem = nameProblem(name);
        if (problem != null) throw new IllegalArgumentException(problem);
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("named port \"" + name + "\": port " + port + " is not 1-65535");
        }
        protocol = protocol == null || protocol.isBlank() ? "TCP" : protocol.trim().toUpperCase(Locale.ROOT);
        if (!PROTOCOLS.contains(protocol)) {
            throw new IllegalArgumentException("named port \"" + name + "\": unknown protocol \"" + protocol
                    + "\" (expected TCP, UDP or SCTP)");
        }
    }

    /**
     * The port {@code name} written as {@code 8080}, {@code 8080/tcp} or {@code 53/UDP}, as the Docker label
     * and the libvirt metadata give it.
     *
     * @throws IllegalArgumentException saying what is wrong with the name or the value
     */
    public static NamedPort parse(String name, String value) {
        String v = value == null ? "" : value.trim();
        int slash = v.indexOf('/');
        String number = slash < 0 ? v : v.substring(0, slash);
        if (!number.matches("\\d{1,5}")) {
            throw new IllegalArgumentException("named port \"" + name + "\": \"" + v
                    + "\" is not PORT or PORT/PROTOCOL (such as 8080 or 53/udp)");
        }
        return new NamedPort(name, Integer.parseInt(number), slash < 0 ? null : v.substring(slash + 1));
    }

    /**
     * Why {@code name} is not a port name by Kubernetes' IANA_SVC_NAME rules, or null when it is one: at most 15
     * characters, lowercase letters, digits and '-', at least one letter, no '-' at either end and no "--".
     */
    public static String nameProblem(String name) {
        if (name == null || name.isEmpty()) return "a port name must not be empty";
        String why = null;
        if (name.length() > 15) why = "longer than 15 characters";
        else if (!name.matches("[a-z0-9-]+")) why = "only lowercase letters, digits and '-' are allowed";
        else if (!name.matches(".*[a-z].*")) why = "it needs at least one letter";
        else if (name.startsWith("-") || name.endsWith("-")) why = "it must not start or end with '-'";
        else if (name.contains("--")) why = "it must not contain \"--\"";
        return why == null ? null : "invalid port name \"" + name + "\": " + why + " (IANA_SVC_NAME)";
    }

    /**
     * The numbers {@code name} has in {@code declared} for {@code protocol}, in declaration order; any of TCP,
     * UDP and SCTP when {@code protocol} is null (a rule of protocol ANY). A name that is not declared, or is
     * declared for another protocol, has none: it matches nothing on that endpoint. This is the only place that
     * resolves a port name; the policy compiler and the offline evaluator both come here.
     */
    public static List<NamedPort> lookup(List<NamedPort> declared, String name, String protocol) {
        List<NamedPort> out = new ArrayList<>();
        if (declared == null) return out;
        for (NamedPort p : declared) {
            if (p.name.equals(name) && (protocol == null || p.protocol.equalsIgnoreCase(protocol))) out.add(p);
        }
        return out;
    }

    /** {@code http=8080/TCP}, as endpoint listings print it. */
    @Override
    public String toString() {
        return name + "=" + port + "/" + protocol;
    }
}
