package io.septum.testsupport;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A test (class or method) that needs root: eBPF, bpffs, network namespaces, tc, cgroups. Not running as root, it
 * is skipped, unless {@code -Dseptum.e2e.required=true} (set by {@code scripts/test.sh}): then it fails, so that a
 * build that was meant to test the datapath cannot pass without testing it. On a class, it covers the class's
 * {@code @BeforeAll} too.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.TYPE, ElementType.METHOD})
@ExtendWith(RootCondition.class)
public @interface RequiresRoot {
    /** What root is needed for, said in the skip or failure message (e.g. "netns, tc, bpffs"). */
    String value() default "";
}
