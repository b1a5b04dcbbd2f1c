package io.septum.api.policy;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Only the cluster's copies carry the cluster: origin, and a node does not change its copy alone. */
class ClusterOriginTest {
    @Test
    void aLocalOriginThatLooksLikeTheClustersGetsDotSlash() {
        assertEquals("./cluster:web.yaml", ClusterPolicies.localOrigin("cluster:web.yaml"));
        assertEquals("web.yaml", ClusterPolicies.localOrigin("web.yaml"));
        assertEquals("api", ClusterPolicies.localOrigin("api"));
        assertEquals(null, ClusterPolicies.localOrigin(null));
    }

    @Test
    void aChangeOfTheClustersCopyIsRefusedWithWhatToDoInstead() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> ClusterPolicies.refuseLocalChange(
                "cluster:septum/state/policies/v1/prod/web", "prod/web", "delete it from the store"));
        assertTrue(e.getMessage().startsWith("policy prod/web is a cluster policy (cluster:septum/state/policies/v1/prod/web)")
                && e.getMessage().endsWith("; delete it from the store"), e.getMessage());
        assertDoesNotThrow(() -> ClusterPolicies.refuseLocalChange("./cluster:web.yaml", "prod/web", "x"));
        assertDoesNotThrow(() -> ClusterPolicies.refuseLocalChange(null, "prod/web", "x"));
    }
}
