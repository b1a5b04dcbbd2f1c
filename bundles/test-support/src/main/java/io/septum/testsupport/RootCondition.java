package io.septum.testsupport;

import java.io.IOException;
import java.lang.reflect.AnnotatedElement;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.commons.support.AnnotationSupport;

/**
 * The condition behind {@link RequiresRoot}: enabled when the effective uid is 0; otherwise disabled, or, when
 * {@code septum.e2e.required} is true, an exception, which JUnit reports as a failure of the test or class.
 */
public final class RootCondition implements ExecutionCondition {
    /** The system property that turns a skip into a failure. */
    public static final String REQUIRED = "septum.e2e.required";

    private final Supplier<OptionalInt> euid;
    private final BooleanSupplier required;

    /** What JUnit uses: the process's effective uid, and the system property. */
    public RootCondition() {
        this(RootCondition::effectiveUid, () -> Boolean.getBoolean(REQUIRED));
    }

    /** For tests of the condition itself: a fake uid (empty = unknown) and a fake "required". */
    RootCondition(Supplier<OptionalInt> euid, BooleanSupplier required) {
        this.euid = euid;
        this.required = required;
    }

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        return evaluate(context.getElement());
    }

    ConditionEvaluationResult evaluate(Optional<? extends AnnotatedElement> element) {
        Optional<RequiresRoot> a = AnnotationSupport.findAnnotation(element, RequiresRoot.class);
        if (a.isEmpty()) return ConditionEvaluationResult.enabled("no @RequiresRoot");
        OptionalInt uid = euid.get();
        if (uid.isPresent() && uid.getAsInt() == 0) return ConditionEvaluationResult.enabled("running as root");
        String why = "needs root" + (a.get().value().isEmpty() ? "" : " (" + a.get().value() + ")") + ", running as uid "
                + (uid.isPresent() ? String.valueOf(uid.getAsInt()) : "unknown");
        if (required.getAsBoolean()) {
            throw new IllegalStateException(why + ", and " + REQUIRED
                    + "=true: this build must test it; run it as root (scripts/test.sh) or without -D" + REQUIRED + "=true");
        }
        return ConditionEvaluationResult.disabled(why + ": skipped (-D" + REQUIRED + "=true makes this a failure)");
    }

    /** The effective uid from {@code /proc/self/status} ("Uid: real effective saved fs"), else from user.name. */
    static OptionalInt effectiveUid() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) return OptionalInt.of(Integer.parseInt(line.substring(4).trim().split("\\s+")[1]));
            }
        } catch (IOException | RuntimeException e) {
            // no procfs: fall through
        }
        return "root".equals(System.getProperty("user.name")) ? OptionalInt.of(0) : OptionalInt.empty();
    }
}
