package io.septum.api.service;

import java.util.List;

/**
 * What an operator asks for: {@code septum service add NAME --frontend IP:PORT[/tcp] --backend EP_OR_IP[:PORT]}.
 *
 * @param name      service name (a DNS label: lower-case letters, digits and '-')
 * @param namespace namespace, null or empty for {@code default}
 * @param frontend  {@code IP:PORT} or {@code IP:PORT/tcp|udp}
 * @param backends  {@code endpoint}, {@code namespace/endpoint}, {@code IP}, each with an optional {@code :PORT}
 */
public record ServiceSpec(String name, String namespace, String frontend, List<String> backends) {
    public ServiceSpec {
        backends = backends == null ? List.of() : List.copyOf(backends);
    }
}
