package io.septum.policy.internal;

import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.septum.api.policy.CaseResult;
import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.PolicyEngine;
import io.septum.api.policy.PolicySet;
import io.septum.api.policy.PolicyValidationException;
import io.septum.api.policy.TestCase;
import io.septum.api.policy.ValidationError;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.osgi.service.component.annotations.Component;

/**
 * The policy engine. Stateless and free of OSGi types at run time (the DS annotation is build-time only), so
 * the CLI can load it through {@link java.util.ServiceLoader} for offline {@code policy validate} and
 * {@code policy eval}.
 */
@Component(service = PolicyEngine.class)
public final class PolicyEngineImpl implements PolicyEngine {
    private final YAMLMapper mapper = PolicyParser.newMapper();
    private final PolicyParser parser = new PolicyParser(mapper);

    /** Public and argument-free for {@link java.util.ServiceLoader}. */
    public PolicyEngineImpl() {
    }

    @Override
    public PolicySet parse(String origin, String text) throws PolicyValidationException {
        List<ValidationError> errors = new ArrayList<>();
        List<CompiledPolicy> policies = parser.parse(origin, text, errors);
        Set<String> seen = new HashSet<>();
        java.util.Map<String, String> clusterWide = new java.util.HashMap<>();
        for (CompiledPolicy p : policies) {
            if (!seen.add(p.key())) {
                errors.add(new ValidationError(origin, 0, p.kind(), p.qualifiedName(), "metadata.name",
                        "the same policy appears twice in this input: give each document its own name"));
            }
            if (p.namespace().isEmpty()) {
                String other = clusterWide.putIfAbsent(p.name(), p.kind());
                String clash = CidrGroupReader.nameClash(p.kind(), other);
                if (clash != null) errors.add(new ValidationError(origin, 0, p.kind(), p.qualifiedName(), "metadata.name", clash));
            }
        }
        if (!errors.isEmpty()) throw new PolicyValidationException(errors);
        return new PolicySetImpl(policies);
    }

    @Override
    public PolicySet empty() {
        return new PolicySetImpl(List.of());
    }

    @Override
    public TestCase parseCase(String origin, String text) throws PolicyValidationException {
        return new CaseParser(mapper).parse(origin, text);
    }

    @Override
    public CaseResult evaluate(TestCase testCase, EnforcementMode mode) throws PolicyValidationException {
        String origin = testCase.name() == null ? "case" : testCase.name();
        PolicySet set = parse(origin + " (policies)", testCase.policies());
        return new CaseEvaluator(testCase, set, mode).run();
    }
}
