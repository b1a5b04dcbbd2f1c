package io.septum.endpoints.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(name = "Septum endpoint manager")
@interface Config {
    @AttributeDefinition(description = "Seconds a disconnected or restored endpoint keeps its datapath state while"
            + " waiting for its source to report it again")
    int disconnectGraceSeconds() default 30;

    @AttributeDefinition(description = "Seconds between retries of a failed datapath update")
    int retrySeconds() default 2;

    @AttributeDefinition(description = "The host's own interfaces (e.g. eth0) on which host policies (a"
            + " CiliumClusterwideNetworkPolicy rule with a nodeSelector) are enforced, comma-separated; empty: no host"
            + " firewall")
    String[] hostInterfaces() default {};

    @AttributeDefinition(description = "The node's labels, key=value, comma-separated, which nodeSelectors match")
    String[] nodeLabels() default {};

    @AttributeDefinition(description = "Ports the host may always be reached on, whatever host policy says"
            + " (protocol:port, comma-separated; Calico's defaults)")
    String[] failsafeInboundHostPorts() default {"tcp:22", "udp:68", "tcp:179", "tcp:2379", "tcp:2380", "tcp:5473",
            "tcp:6443", "tcp:6666", "tcp:6667"};

    @AttributeDefinition(description = "Ports the host may always connect to, whatever host policy says"
            + " (protocol:port, comma-separated; Calico's defaults)")
    String[] failsafeOutboundHostPorts() default {"udp:53", "tcp:53", "udp:67", "tcp:179", "tcp:2379", "tcp:2380",
            "tcp:5473", "tcp:6443", "tcp:6666", "tcp:6667"};
}
