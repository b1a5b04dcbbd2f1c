package io.septum.source.kubernetes.internal;

import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.septum.api.policy.PolicyOffer;
import io.septum.api.policy.PolicySink;
import io.septum.api.policy.PolicyValidationException;

import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

import static io.septum.support.source.Failures.rootMessage;

/**
 * One policy kind from the API to the policy sink. Each object is turned back into the YAML a user would have
 * written (apiVersion, kind, name, namespace and the rest but status) and offered with origin
 * {@code k8s:<kind>/<namespace>/<name>}; the policy bundle validates it as a file, all or nothing, and records and
 * logs a refusal (so {@code policy list} shows the reason). A refused object is also reported here as a Warning
 * event on the object; whatever version of it was in force before stays in force. Runs on the source's thread;
 * offers nothing while no policy sink is open.
 */
final class PolicyFeed {
    private static final Logger LOG = Logger.getLogger(PolicyFeed.class.getName());
    private final PolicyKind kind;
    private final KubernetesClient client;
    private final Supplier<PolicySink> sink;
    SharedIndexInformer<GenericKubernetesResource> informer;

    PolicyFeed(PolicyKind kind, KubernetesClient client, Supplier<PolicySink> sink) {
        this.kind = kind;
        this.client = client;
        this.sink = sink;
    }

    /** The YAML document of an API object, as its author wrote it. */
    String document(GenericKubernetesResource o) {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("apiVersion", kind.apiVersion());
        doc.put("kind", kind.kind);
        Map<String, Object> metadata = new LinkedHashMap<>();
        metadata.put("name", o.getMetadata().getName());
        if (kind.namespaced) metadata.put("namespace", o.getMetadata().getNamespace());
        if (o.getMetadata().getLabels() != null && !o.getMetadata().getLabels().isEmpty()) {
            metadata.put("labels", o.getMetadata().getLabels());
        }
        doc.put("metadata", metadata);
        for (Map.Entry<String, Object> e : o.getAdditionalProperties().entrySet()) {
            if (!e.getKey().equals("status")) doc.put(e.getKey(), e.getValue());
        }
        return client.getKubernetesSerialization().asYaml(doc);
    }

    void apply(GenericKubernetesResource o) {
        PolicySink to = sink.get();
        if (to == null) return;
        String ns = kind.namespaced ? o.getMetadata().getNamespace() : "";
        try {
            to.upsert(new PolicyOffer(KubernetesSource.origin(o), kind.kind, ns, o.getMetadata().getName(), document(o)));
        } catch (PolicyValidationException e) {
            event(o, e.getMessage());
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "source k8s: cannot apply " + KubernetesSource.origin(o) + ": "
                    + rootMessage(e), e);
        }
    }

    void deleted(GenericKubernetesResource o) {
        PolicySink to = sink.get();
        if (to == null) return;
        try {
            to.remove(KubernetesSource.origin(o));
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "source k8s: cannot delete " + KubernetesSource.origin(o) + ": "
                    + rootMessage(e), e);
        }
    }

    /** Offers every object the informer holds again; returns their origins (the live ones of this kind). */
    List<String> applyAll() {
        List<String> live = new ArrayList<>();
        for (GenericKubernetesResource o : informer.getStore().list()) {
            live.add(KubernetesSource.origin(o));
            apply(o);
        }
        return live;
    }

    /** A Warning event on the object, as kubectl describe shows it; best effort. */
    private void event(GenericKubernetesResource o, String reason) {
        String ns = kind.namespaced ? o.getMetadata().getNamespace() : "default";
        try {
            String now = DateTimeFormatter.ISO_INSTANT.format(Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS));
            client.v1().events().inNamespace(ns).resource(new EventBuilder()
                    .withNewMetadata().withGenerateName(o.getMetadata().getName() + ".").withNamespace(ns).endMetadata()
                    .withNewInvolvedObject().withApiVersion(kind.apiVersion()).withKind(kind.kind)
                    .withName(o.getMetadata().getName()).withNamespace(kind.namespaced ? ns : null)
                    .withUid(o.getMetadata().getUid()).withResourceVersion(o.getMetadata().getResourceVersion())
                    .endInvolvedObject()
                    .withType("Warning").withReason("PolicyRejected")
                    .withMessage(reason.length() > 1000 ? reason.substring(0, 1000) + "..." : reason)
                    .withNewSource().withComponent("septum").endSource()
                    .withFirstTimestamp(now).withLastTimestamp(now).withCount(1)
                    .build()).create();
        } catch (RuntimeException e) {
            LOG.log(Level.FINE, "source k8s: no event for " + KubernetesSource.origin(o) + ": "
                    + rootMessage(e), e);
        }
    }
}
