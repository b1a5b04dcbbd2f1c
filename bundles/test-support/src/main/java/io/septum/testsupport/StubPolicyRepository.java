package io.septum.testsupport;

import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.ImportResult;
import io.septum.api.policy.PolicyInfo;
import io.septum.api.policy.PolicyRepository;
import java.util.List;
import java.util.Optional;

/**
 * A policy repository for tests of what reads policy (the proxy's judge, the endpoint manager, the API's error
 * paths): the test gives the current set and revision; nothing is listed, the mode is the default one, and a change
 * (import, delete) is refused with {@link UnsupportedOperationException}. A test overrides what it exercises.
 */
public interface StubPolicyRepository extends PolicyRepository {
    @Override
    default ImportResult importPolicies(String origin, String text) {
        throw new UnsupportedOperationException("a stub policy repository takes no imports");
    }

    @Override
    default List<PolicyInfo> list() {
        return List.of();
    }

    @Override
    default Optional<PolicyInfo> get(String namespace, String name) {
        return Optional.empty();
    }

    @Override
    default long delete(String namespace, String name) {
        throw new UnsupportedOperationException("a stub policy repository deletes nothing");
    }

    @Override
    default EnforcementMode mode() {
        return EnforcementMode.DEFAULT;
    }
}
