package io.septum.itests.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.septum.cli.connectivity.NetLab;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The corpus across three nodes: {@code septum connectivity test --nodes 3} starts a private etcd and three agents
 * in cluster mode, each in its own network namespace with its own endpoints, and runs every case that the lab can
 * probe (the shared corpus, and the project's own cases but the {@code l7-union-*} family, which the one-node run
 * covers); endpoints are spread round-robin, so most probes cross nodes. Every verdict must be the offline
 * evaluator's, as with one node; afterwards nothing of the lab is left (namespaces, mounts, processes, files).
 */
class ClusterCorpusIT {
    @Test
    void everyCaseGivesTheSameVerdictsAcrossThreeNodes() throws IOException {
        Path septum = E2eSupport.septum();
        List<String> cmd = new ArrayList<>(List.of(septum.toString(), "connectivity", "test", "--nodes", "3", "-o", "json"));
        Map<String, Path> byName = new LinkedHashMap<>();
        com.fasterxml.jackson.databind.ObjectMapper yaml =
                new com.fasterxml.jackson.databind.ObjectMapper(new com.fasterxml.jackson.dataformat.yaml.YAMLFactory());
        for (E2eSupport.CorpusEntry e : E2eSupport.corpusFiles("cases")) {
            if (E2eSupport.labCannotProbe(e.path()).isPresent()) continue;
            if (e.name().startsWith("own/l7-union-")) continue;
            // the shared corpus may hold a case of the same name as ours: the shared one is run
            byName.put(yaml.readTree(e.path().toFile()).path("name").asText(), e.path());
        }
        for (Path c : byName.values()) {
            cmd.add("--case");
            cmd.add(c.toString());
        }
        assertTrue(byName.size() >= 10, "too few cases to mean anything: " + byName.keySet());
        List<String> before = labObjects();

        E2eSupport.Run run = E2eSupport.exec(Duration.ofMinutes(12), cmd);
        System.err.println(run.err());
        assertEquals(0, run.exit(), run.toString());
        JsonNode results = run.json();
        assertEquals(byName.size(), results.size(), "one result per case\n" + run);
        for (JsonNode r : results) {
            Path c = byName.get(r.path("case").asText());
            assertEquals(0, r.path("failed").asInt(-1), r.toString());
            E2eSupport.Run eval = E2eSupport.exec(Duration.ofSeconds(60), List.of(septum.toString(), "policy", "eval",
                    c.toString(), "-o", "json"));
            assertEquals(0, eval.exit(), eval.toString());
            JsonNode e = eval.json().path("results");
            assertEquals(e.size(), r.path("results").size(), "same probes in " + c);
            for (int i = 0; i < e.size(); i++) {
                assertEquals(e.get(i).path("verdict").asText(), r.path("results").get(i).path("verdict").asText(),
                        c + " probe " + i + ": offline " + e.get(i) + " vs three nodes " + r.path("results").get(i));
            }
        }
        assertTrue(run.err().contains("starting 3 nodes"), run.err());
        assertEquals(before, labObjects(), "the lab removed everything it made");
    }

    /**
     * Namespaces, links in this namespace (the underlay bridge, its veths), mounts and state files of connectivity
     * labs ('c' run ids), and etcd or agent processes under them.
     */
    private static List<String> labObjects() throws IOException {
        List<String> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(Path.of("/sys/class/net"))) {
            s.map(p -> p.getFileName().toString())
                    .filter(n -> n.startsWith(NetLab.BRIDGE_PREFIX + "c") || n.startsWith(NetLab.VETH_PREFIX + "c"))
                    .sorted().forEach(n -> out.add("link " + n));
        }
        Path netns = Path.of("/run/netns");
        if (Files.isDirectory(netns)) {
            try (Stream<Path> s = Files.list(netns)) {
                s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("sept-c")).sorted().forEach(out::add);
            }
        }
        for (String line : Files.readAllLines(Path.of("/proc/self/mounts"))) {
            if (line.contains("/septum-lab/")) out.add("mount " + line);
        }
        Path lab = Path.of("/run/septum-lab");
        if (Files.isDirectory(lab)) {
            try (Stream<Path> s = Files.list(lab)) {
                s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("c")).sorted().forEach(n -> out.add("file " + n));
            }
        }
        ProcessHandle.allProcesses().forEach(h -> h.info().commandLine().filter(c -> c.contains("/septum-lab/"))
                .ifPresent(c -> out.add("process " + c)));
        return out;
    }
}
