package io.septum.endpoints.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(name = "Septum endpoint manager")
@interface Config {
    @AttributeDefinition(description = "Seconds a disconnected or restored endpoint keeps its datapath state while"
            + " waiting for its source to report it again")
    int disconnectGraceSeconds() default 30;

    @AttributeDefinition(description = "Seconds between retries of a failed datapath update")
    int retrySeconds() default 2;
}
