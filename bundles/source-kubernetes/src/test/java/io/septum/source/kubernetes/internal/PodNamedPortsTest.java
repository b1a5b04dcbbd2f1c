package io.septum.source.kubernetes.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.fabric8.kubernetes.api.model.ContainerPortBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.septum.api.NamedPort;
import java.util.List;
import org.junit.jupiter.api.Test;

/** containerPort names become the endpoint's named ports; no API server or namespace needed. */
class PodNamedPortsTest {
    @Test
    void namedContainerPortsOfEveryContainerAreTheEndpointsNamedPorts() {
        Pod p = new PodBuilder().withNewMetadata().withName("web").withNamespace("prod").withUid("u1").endMetadata()
                .withNewSpec()
                .addNewContainer().withName("app").withPorts(
                        new ContainerPortBuilder().withName("serve-80-tcp").withContainerPort(80).build(),
                        new ContainerPortBuilder().withContainerPort(9090).build(),
                        new ContainerPortBuilder().withName("dns").withContainerPort(53).withProtocol("UDP").build())
                .endContainer()
                .addNewContainer().withName("sidecar").withPorts(
                        new ContainerPortBuilder().withName("metrics").withContainerPort(9100).withProtocol("TCP").build(),
                        new ContainerPortBuilder().withName("Bad_Name").withContainerPort(81).build())
                .endContainer()
                .endSpec().withNewStatus().withPhase("Running").withPodIP("10.0.0.5").endStatus().build();
        List<NamedPort> want = List.of(new NamedPort("serve-80-tcp", 80, "TCP"), new NamedPort("dns", 53, "UDP"),
                new NamedPort("metrics", 9100, "TCP"));
        assertEquals(want, KubernetesSource.namedPorts(p));
        assertEquals(want, KubernetesSource.spec(p, "veth0").ports());
    }
}
