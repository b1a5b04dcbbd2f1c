package io.septum.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.septum.api.AgentStatus;
import org.junit.jupiter.api.Test;

/** The archive's training run works: the stand-in answers, and the status command reads and prints its answer. */
class CdsTrainingTest {
    @Test
    void theStatusCommandSucceedsAgainstTheStandIn() throws Exception {
        assertEquals(0, CdsTraining.train());
    }

    @Test
    void theMadeUpStatusIsAnAgentStatus() throws Exception {
        ObjectMapper strict = new ObjectMapper(); // fails on a property AgentStatus does not have
        AgentStatus s = strict.readValue(CdsTraining.STATUS, AgentStatus.class);
        assertEquals(true, s.ready());
        assertEquals(1, s.components().size());
    }
}
