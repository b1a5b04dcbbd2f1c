package io.septum.policy.internal;

import io.septum.testsupport.TestCorpus;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.septum.api.Identity;
import io.septum.api.Labels;
import io.septum.api.ReservedIdentity;
import io.septum.api.policy.Direction;
import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.PolicyEngine;
import io.septum.api.policy.PolicySet;
import io.septum.api.policy.PolicyValidationException;
import io.septum.api.policy.Protocol;
import io.septum.api.policy.TestCase;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Bad input must never crash the agent: hundreds of mutations of the corpus policies either parse or are
 * refused with validation errors, never with another exception. Whatever parses must also be usable.
 */
class RobustnessTest {
    private final PolicyEngine engine = new PolicyEngineImpl();
    private final YAMLMapper yaml = new YAMLMapper();
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    @Test
    void mutatedPoliciesNeverCrashTheParser() throws Exception {
        List<JsonNode> seeds = new ArrayList<>();
        for (TestCorpus.Entry e : TestCorpus.cases()) {
            Path p = e.path();
            TestCase tc = engine.parseCase(p.toString(), TestCorpus.read(p));
            for (String doc : tc.policies().split("(?m)^---\\s*$")) {
                JsonNode n = yaml.readTree(doc);
                if (n != null && n.isObject()) seeds.add(n);
            }
        }
        assertFalse(seeds.isEmpty());
        Random rnd = new Random(42);
        int parsed = 0;
        int refused = 0;
        Labels subject = Labels.parse(List.of("k8s:app=db", "k8s:io.kubernetes.pod.namespace=default"), "any");
        List<Identity> universe = List.of(ReservedIdentity.WORLD.identity(), ReservedIdentity.HOST.identity(),
                new Identity(300, subject.asStrings(), false));
        for (int i = 0; i < 800; i++) {
            JsonNode doc = seeds.get(rnd.nextInt(seeds.size())).deepCopy();
            int mutations = 1 + rnd.nextInt(3);
            for (int m = 0; m < mutations; m++) doc = mutate(doc, rnd);
            String text = yaml.writeValueAsString(doc);
            try {
                PolicySet s = engine.parse("fuzz", text);
                s.resolve(subject, universe, EnforcementMode.DEFAULT);
                s.decide(Direction.INGRESS, subject, subject, 80, Protocol.TCP, EnforcementMode.DEFAULT);
                s.cidrPrefixes();
                parsed++;
            } catch (PolicyValidationException e) {
                assertFalse(e.errors().isEmpty());
                e.errors().forEach(er -> assertTrue(er.reason() != null && !er.reason().isBlank()));
                refused++;
            } catch (RuntimeException e) {
                fail("crash on:\n" + text, e);
            }
        }
        assertTrue(parsed > 30 && refused > 30, "parsed " + parsed + ", refused " + refused);
    }

    private JsonNode mutate(JsonNode root, Random rnd) {
        List<JsonNode> containers = new ArrayList<>();
        collect(root, containers);
        JsonNode target = containers.get(rnd.nextInt(containers.size()));
        JsonNode value = randomValue(rnd);
        if (target instanceof ObjectNode o && o.size() > 0) {
            List<String> names = new ArrayList<>();
            o.fieldNames().forEachRemaining(names::add);
            String name = names.get(rnd.nextInt(names.size()));
            if (rnd.nextInt(5) == 0) o.remove(name);
            else o.set(name, value);
        } else if (target instanceof ArrayNode a) {
            if (a.size() > 0 && rnd.nextBoolean()) a.set(rnd.nextInt(a.size()), value);
            else a.add(value);
        }
        return root;
    }

    private static void collect(JsonNode n, List<JsonNode> out) {
        if (n.isContainerNode()) {
            out.add(n);
            n.forEach(c -> collect(c, out));
        }
    }

    private static JsonNode randomValue(Random rnd) {
        return switch (rnd.nextInt(14)) {
            case 0 -> F.nullNode();
            case 1 -> F.textNode("x");
            case 2 -> F.numberNode(rnd.nextInt(200000) - 1000);
            case 3 -> F.arrayNode();
            case 4 -> F.objectNode();
            case 5 -> F.textNode("10.0.0.0/" + rnd.nextInt(40));
            case 6 -> F.textNode("fd00::" + Integer.toHexString(rnd.nextInt(65536)) + "/" + rnd.nextInt(140));
            case 7 -> F.booleanNode(rnd.nextBoolean());
            case 8 -> F.arrayNode().add(F.objectNode());
            case 9 -> F.textNode("");
            case 10 -> F.numberNode(1.5);
            case 11 -> F.arrayNode().add(F.textNode("world")).add(F.textNode("all"));
            case 12 -> F.objectNode().set("matchLabels", F.objectNode().put("app", "x"));
            default -> F.textNode(String.valueOf(rnd.nextInt(70000)));
        };
    }
}
