package io.septum.itests.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;

/**
 * The seed's ships as network-namespace endpoints of a running agent: a deathstar answering on TCP 80, a tiefighter
 * and an xwing, with the distribution's own {@code examples/sw_l3_l4_policy.yaml} (rule1, L3/L4) in force, checked
 * with real connections before the test goes on.
 */
record StarWarsFleet(E2eNet.Node deathstar, E2eNet.Node tiefighter, E2eNet.Node xwing) {
    static final Duration ALLOW_TIMEOUT = Duration.ofMillis(1500);
    static final Duration DENY_TIMEOUT = Duration.ofMillis(500);

    static StarWarsFleet deploy(Path septum, E2eSupport.Agent agent, E2eNet net) throws Exception {
        StarWarsFleet f = new StarWarsFleet(net.add("deathstar"), net.add("tiefighter"), net.add("xwing"));
        net.httpEcho(f.deathstar, 80);
        E2eNet.addEndpoint(agent, f.deathstar, "org=empire", "class=deathstar");
        E2eNet.addEndpoint(agent, f.tiefighter, "org=empire", "class=tiefighter");
        E2eNet.addEndpoint(agent, f.xwing, "org=alliance", "class=xwing");
        assertTrue(E2eSupport.await(Duration.ofSeconds(30), () -> agent.readyEndpoints() >= 3), "three endpoints ready");
        Path rule1 = septum.getParent().getParent().resolve("examples/sw_l3_l4_policy.yaml");
        E2eSupport.Run imp = agent.cli("policy", "import", rule1.toString());
        assertEquals(0, imp.exit(), imp.toString());
        assertTrue(E2eSupport.await(Duration.ofSeconds(30), () -> f.tiefighterLands(net) && !f.xwingGetsThrough(net)),
                "rule1 enforced");
        return f;
    }

    boolean tiefighterLands(E2eNet net) {
        return net.tcp(tiefighter, deathstar, 80, ALLOW_TIMEOUT);
    }

    boolean xwingGetsThrough(E2eNet net) {
        return net.tcp(xwing, deathstar, 80, DENY_TIMEOUT);
    }
}
