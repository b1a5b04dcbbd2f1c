package io.septum.api.policy;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Parses and validates policies. Available as an OSGi service and, for offline tools, through
 * {@link java.util.ServiceLoader}.
 */
@ProviderType
public interface PolicyEngine {
    /**
     * Parses every YAML document of {@code text}: CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy
     * ({@code cilium.io/v2}) and NetworkPolicy ({@code networking.k8s.io/v1}), and their {@code List} forms.
     *
     * @param origin the file name used in errors
     * @throws PolicyValidationException naming file, document, policy, field and reason of every problem
     */
    PolicySet parse(String origin, String text) throws PolicyValidationException;

    PolicySet empty();

    /**
     * Parses a test case file (corpus format). Its policies are not parsed here.
     *
     * @throws PolicyValidationException naming the file and field when the case itself is malformed
     */
    TestCase parseCase(String origin, String text) throws PolicyValidationException;

    /**
     * Judges every probe of the case offline with these semantics: endpoints get their labels plus the namespace
     * labels; external hosts are {@code cidr:<ip>/32} and {@code reserved:world}.
     *
     * @throws PolicyValidationException when the case's policies are invalid
     */
    CaseResult evaluate(TestCase testCase, EnforcementMode mode) throws PolicyValidationException;
}
