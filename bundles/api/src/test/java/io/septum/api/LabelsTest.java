package io.septum.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class LabelsTest {
    private static Labels labels(String... texts) {
        return Labels.parse(List.of(texts), Label.ANY);
    }

    @Test
    void traceLabelsSplitOnCommasAndDefaultToAnySourceAndTheDefaultNamespace() {
        assertEquals(labels("any:org=empire", "k8s:class=tiefighter", "k8s:io.kubernetes.pod.namespace=default"),
                Labels.forTrace(List.of("org=empire, k8s:class=tiefighter,")));
        assertEquals(labels("any:org=empire", "any:class=tiefighter", "k8s:io.kubernetes.pod.namespace=default"),
                Labels.forTrace(List.of("org=empire", "class=tiefighter")));
    }

    @Test
    void aNamedNamespaceOfAnySourceIsKept() {
        assertEquals(labels("any:app=web", "any:io.kubernetes.pod.namespace=prod"),
                Labels.forTrace(List.of("app=web,io.kubernetes.pod.namespace=prod")));
        assertEquals(labels("any:app=web", "k8s:io.kubernetes.pod.namespace=prod"),
                Labels.forTrace(List.of("app=web", "k8s:io.kubernetes.pod.namespace=prod")));
    }

    @Test
    void reservedAndCidrIdentitiesHaveNoNamespace() {
        assertEquals(labels("reserved:world"), Labels.forTrace(List.of("reserved:world")));
        assertEquals(labels("cidr:10.199.0.0/16"), Labels.forTrace(List.of("cidr:10.199.0.0/16")));
    }

    @Test
    void noLabelsIsAnErrorWithAnExample() {
        for (List<String> none : List.of(List.<String>of(), List.of(""), List.of(" , ,"))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Labels.forTrace(none));
            assertEquals("no labels given (e.g. k8s:org=empire,class=tiefighter)", e.getMessage());
        }
    }

    @Test
    void aLabelWithoutKeyIsAnError() {
        assertThrows(IllegalArgumentException.class, () -> Labels.forTrace(List.of("k8s:=x")));
    }
}
