package io.septum.support.config;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AgentDirsTest {
    @Test
    void givenPropertiesWin() {
        Map<String, String> p = Map.of("septum.state.dir", "/tmp/s", "septum.run.dir", "/tmp/r", "septum.bpf.dir", "/tmp/b");
        assertEquals(Path.of("/tmp/s"), AgentDirs.stateDir(p::get));
        assertEquals(Path.of("/tmp/r"), AgentDirs.runDir(p::get));
        assertEquals(Path.of("/tmp/b"), AgentDirs.bpfDir(p::get));
    }

    @Test
    void missingOrBlankPropertiesGiveThePackagedAgentsDirectories() {
        Map<String, String> blank = Map.of("septum.state.dir", " ", "septum.run.dir", "");
        assertEquals(Path.of("/var/lib/septum"), AgentDirs.stateDir(blank::get));
        assertEquals(Path.of("/run/septum"), AgentDirs.runDir(blank::get));
        assertEquals(Path.of("/sys/fs/bpf/septum"), AgentDirs.bpfDir(blank::get));
    }

    @Test
    void theEtcDirIsGivenElseTheHomesElseTheWorkingDirectorys() {
        assertEquals(Path.of("/tmp/e"), AgentDirs.etcDir(Map.of("septum.etc.dir", "/tmp/e", "septum.home", "/h")::get));
        assertEquals(Path.of("/h/etc"), AgentDirs.etcDir(Map.of("septum.etc.dir", " ", "septum.home", "/h")::get));
        assertEquals(Path.of("").toAbsolutePath().resolve("etc"), AgentDirs.etcDir(Map.<String, String>of()::get));
    }

    @Test
    void anyDirectoryPropertyFallsBackToItsDefault() {
        assertEquals(Path.of("/x"), AgentDirs.dir(Map.of("k", "/x")::get, "k", "/d"));
        assertEquals(Path.of("/d"), AgentDirs.dir(Map.of("k", "")::get, "k", "/d"));
    }
}
