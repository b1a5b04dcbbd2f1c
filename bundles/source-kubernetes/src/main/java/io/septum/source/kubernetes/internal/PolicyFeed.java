package io.septum.source.kubernetes.internal;

import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.septum.api.policy.PolicyInfo;
import io.septum.api.policy.PolicyRepository;
import io.septum.api.policy.PolicyValidationException;
import io.septum.api.policy.RejectedPolicy;

import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One policy kind from the API into the policy repository. Each object is turned back into the YAML a user would
 * have written (apiVersion, kind, name, namespace and the rest but status) and imported with origin
 * {@code k8s:<kind>/<namespace>/<name>}, so it passes the same validation as a file, all or nothing. A refused
 * object is logged, recorded in the repository (so {@code policy list} shows the reason) and reported as a Warning
 * event on the object; whatever version of it was in force before stays in force. Runs on the source's thread.
 */
final class PolicyFeed {
    private static final Logger LOG = Logger.getLogger(PolicyFeed.class.getName());
    private final PolicyKind kind;
    private final KubernetesClient client;
    private final PolicyRepository repository;
    SharedIndexInformer<GenericKubernetesResource> informer;

    PolicyFeed(PolicyKind kind, KubernetesClient client, PolicyRepository repository) {
        this.kind = kind;
        this.client = client;
        this.repository = repository;
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
        String origin = KubernetesSource.origin(o);
        String ns = kind.namespaced ? o.getMetadata().getNamespace() : "";
        String name = o.getMetadata().getName();
        String text = document(o);
        Optional<PolicyInfo> current = repository.get(ns, name);
        if (current.isPresent() && current.get().origin().equals(origin) && text.equals(current.get().document())) {
            // A resync or a status-only update: nothing to do, and no new revision.
            repository.clearRejected(origin);
            return;
        }
        try {
            repository.importPolicies(origin, text);
            repository.clearRejected(origin);
            LOG.info("source k8s: applied " + origin);
        } catch (PolicyValidationException e) {
            String reason = e.getMessage();
            LOG.warning("source k8s: rejected " + origin + ": " + reason
                    + (current.isPresent() ? "; its previous version stays in force" : "; nothing applied"));
            repository.reportRejected(new RejectedPolicy(origin, kind.kind, ns, name, reason,
                    System.currentTimeMillis(), text));
            event(o, reason);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "source k8s: cannot apply " + origin + ": " + KubernetesSource.message(e), e);
        }
    }

    void deleted(GenericKubernetesResource o) {
        String origin = KubernetesSource.origin(o);
        repository.clearRejected(origin);
        String ns = kind.namespaced ? o.getMetadata().getNamespace() : "";
        Optional<PolicyInfo> current = repository.get(ns, o.getMetadata().getName());
        // A policy of the same name imported from a file is not ours to delete.
        if (current.isEmpty() || !current.get().origin().equals(origin)) return;
        try {
            repository.delete(ns, o.getMetadata().getName());
            LOG.info("source k8s: deleted " + origin);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "source k8s: cannot delete " + origin + ": " + KubernetesSource.message(e), e);
        }
    }

    /** Applies what the informer holds and deletes this kind's policies whose objects are gone. */
    void resync() {
        Set<String> live = new HashSet<>();
        for (GenericKubernetesResource o : informer.getStore().list()) {
            live.add(KubernetesSource.origin(o));
            apply(o);
        }
        String prefix = KubernetesSource.NAME + ":" + kind.kind + "/";
        for (PolicyInfo p : repository.list()) {
            if (p.origin().startsWith(prefix) && !live.contains(p.origin())) {
                try {
                    repository.delete(p.namespace(), p.name());
                    LOG.info("source k8s: deleted " + p.origin() + " (its object is gone)");
                } catch (RuntimeException e) {
                    LOG.log(Level.WARNING, "source k8s: cannot delete " + p.origin(), e);
                }
            }
        }
        for (RejectedPolicy r : repository.rejected()) {
            if (r.origin().startsWith(prefix) && !live.contains(r.origin())) repository.clearRejected(r.origin());
        }
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
                    + KubernetesSource.message(e), e);
        }
    }
}
