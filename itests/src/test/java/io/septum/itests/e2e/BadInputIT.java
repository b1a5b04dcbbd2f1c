package io.septum.itests.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.septum.testsupport.TestFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every file of {@code corpus/invalid/} is refused by {@code septum policy import} into a running agent (exit 2,
 * the listed substrings on stderr), and afterwards the agent's policies, its BPF ipcache and an endpoint's BPF
 * policy are exactly as before.
 */
class BadInputIT {
    private static final String GOOD = String.join("\n",
            "apiVersion: cilium.io/v2",
            "kind: CiliumNetworkPolicy",
            "metadata: {name: good}",
            "spec:",
            "  endpointSelector: {matchLabels: {app: bad-input-target}}",
            "  ingress:",
            "  - fromEndpoints:",
            "    - matchLabels: {app: friend}",
            "    toPorts:",
            "    - ports: [{port: \"80\", protocol: TCP}]",
            "  - toPorts:",
            "    - ports: [{port: \"8080\", protocol: TCP}]",
            "  egress:",
            "  - toCIDRSet:",
            "    - cidr: 10.198.0.0/16",
            "      except: [10.198.9.0/24]",
            "");

    @Test
    void refusedImportsChangeNothing() throws Exception {
        Path septum = E2eSupport.septum();
        Path work = Files.createTempDirectory("septum-e2e-bad");
        try (E2eSupport.Agent agent = E2eSupport.Agent.start(septum); E2eNet net = new E2eNet()) {
            E2eNet.Node target = net.add("target");
            E2eSupport.Run add = agent.cli("endpoint", "add", "--name", "bad-input-target", "--netns", target.netns(),
                    "--interface", target.veth(), "--address", target.ip(), "--label", "app=bad-input-target");
            assertEquals(0, add.exit(), add.toString());
            assertTrue(E2eSupport.await(Duration.ofSeconds(30), () -> "ready".equals(
                    agent.cli("endpoint", "get", "default/bad-input-target", "-o", "json").json().path("state").asText())),
                    "endpoint ready");
            Path good = work.resolve("good.yaml");
            agent.importPolicy(good, GOOD);
            assertTrue(E2eSupport.await(Duration.ofSeconds(30), () -> agent.cli("bpf", "policy", "get",
                    "default/bad-input-target", "-o", "json").json().size() > 0), "the good policy reached the datapath");

            JsonNode policies = agent.cli("policy", "list", "-o", "json").json();
            JsonNode ipcache = agent.cli("bpf", "ipcache", "list", "-o", "json").json();
            JsonNode bpfPolicy = agent.cli("bpf", "policy", "get", "default/bad-input-target", "-o", "json").json();
            assertEquals(1, policies.size(), policies.toString());

            ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
            List<E2eSupport.CorpusEntry> invalid = E2eSupport.corpusFiles("invalid");
            assertTrue(invalid.size() >= 5, "the invalid corpus is there: " + invalid);
            List<String> problems = new ArrayList<>();
            for (E2eSupport.CorpusEntry e : invalid) {
                Path f = e.path();
                JsonNode doc = yaml.readTree(f.toFile());
                Path policy = work.resolve(e.name().replace('/', '-'));
                Files.writeString(policy, doc.path("policies").asText());
                E2eSupport.Run r = agent.cli("policy", "import", policy.toString());
                if (r.exit() != 2) problems.add(e.name() + ": exit " + r.exit() + "\n" + r);
                for (JsonNode sub : doc.path("error_contains")) {
                    if (!r.err().contains(sub.asText())) {
                        problems.add(e.name() + ": stderr lacks \"" + sub.asText() + "\"\n" + r);
                    }
                }
            }
            assertTrue(problems.isEmpty(), String.join("\n", problems));

            assertEquals(policies, agent.cli("policy", "list", "-o", "json").json(), "policies unchanged");
            assertEquals(ipcache, agent.cli("bpf", "ipcache", "list", "-o", "json").json(), "BPF ipcache unchanged");
            assertEquals(bpfPolicy, agent.cli("bpf", "policy", "get", "default/bad-input-target", "-o", "json").json(),
                    "BPF policy of the endpoint unchanged");
        } finally {
            TestFiles.deleteTree(work);
        }
    }
}
