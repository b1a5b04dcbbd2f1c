package io.septum.testsupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.AnnotatedElement;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;

class RootConditionTest {
    @RequiresRoot("netns, tc")
    static final class NeedsRoot {
    }

    static final class Plain {
    }

    private static ConditionEvaluationResult eval(OptionalInt uid, boolean required, Class<?> c) {
        return new RootCondition(() -> uid, () -> required).evaluate(Optional.<AnnotatedElement>of(c));
    }

    @Test
    void rootRuns() {
        assertFalse(eval(OptionalInt.of(0), false, NeedsRoot.class).isDisabled());
        assertFalse(eval(OptionalInt.of(0), true, NeedsRoot.class).isDisabled());
    }

    @Test
    void notRootIsSkippedWithTheReason() {
        ConditionEvaluationResult r = eval(OptionalInt.of(1000), false, NeedsRoot.class);
        assertTrue(r.isDisabled());
        String why = r.getReason().orElseThrow();
        assertTrue(why.contains("needs root (netns, tc)") && why.contains("uid 1000") && why.contains("septum.e2e.required"), why);
    }

    @Test
    void notRootFailsWhenTestsAreRequired() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> eval(OptionalInt.of(1000), true, NeedsRoot.class));
        assertTrue(e.getMessage().contains("needs root (netns, tc)") && e.getMessage().contains("septum.e2e.required=true"),
                e.getMessage());
        assertThrows(IllegalStateException.class, () -> eval(OptionalInt.empty(), true, NeedsRoot.class), "unknown uid is not root");
        assertTrue(eval(OptionalInt.empty(), false, NeedsRoot.class).isDisabled());
    }

    @Test
    void withoutTheAnnotationNothingHappens() {
        assertFalse(eval(OptionalInt.of(1000), true, Plain.class).isDisabled());
        assertFalse(new RootCondition(() -> OptionalInt.of(1000), () -> true).evaluate(Optional.empty()).isDisabled());
    }

    @Test
    void theRealUidIsRead() {
        OptionalInt uid = RootCondition.effectiveUid();
        assertTrue(uid.isPresent());
        assertEquals("root".equals(System.getProperty("user.name")), uid.getAsInt() == 0);
    }

    @Test
    void theBuildPassesTheSwitchToTheForkedJvm() {
        // the root pom's surefire systemPropertyVariables: without it, -Dseptum.e2e.required=true would not reach tests
        String v = System.getProperty(RootCondition.REQUIRED);
        assertTrue("true".equals(v) || "false".equals(v), "septum.e2e.required in the test JVM: " + v);
        System.out.println("septum.e2e.required=" + v);
    }
}
