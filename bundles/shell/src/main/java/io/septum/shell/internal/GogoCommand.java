package io.septum.shell.internal;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.osgi.service.component.annotations.ComponentPropertyType;

/** Registers a component as Gogo commands: {@code osgi.command.scope} and {@code osgi.command.function}. */
@ComponentPropertyType
@Retention(RetentionPolicy.CLASS)
@Target(ElementType.TYPE)
public @interface GogoCommand {
    String PREFIX_ = "osgi.command.";

    /** The noun: {@code endpoint} in {@code endpoint:list}. */
    String scope();

    /** The verbs: one public method each. */
    String[] function();
}
