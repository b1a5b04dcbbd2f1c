package io.septum.kvstore.etcd.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** etcdUser and etcdPasswordFile of io.septum.cluster: both or neither, and errors that name the key at fault. */
class ClusterCredentialsTest {
    @TempDir
    Path dir;

    @Test
    void bothOrNeither() throws Exception {
        assertNull(ClusterComponent.credentials("", ""));
        Path f = Files.writeString(dir.resolve("pw"), "s3cret\nignored second line\n");
        EtcdClient.Credentials c = ClusterComponent.credentials(" septum-node-a ", f.toString());
        assertEquals("septum-node-a", c.user());
        assertEquals("s3cret", c.password());
        assertTrue(!c.toString().contains("s3cret"), "the password never shows in logs: " + c);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ClusterComponent.credentials("u", ""))
                .getMessage().contains("etcdPasswordFile is not"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ClusterComponent.credentials("", f.toString()))
                .getMessage().contains("etcdUser is not"));
    }

    @Test
    void aMissingOrEmptyFileIsNamed() throws Exception {
        Path missing = dir.resolve("nope");
        IOException e = assertThrows(IOException.class, () -> ClusterComponent.credentials("u", missing.toString()));
        assertTrue(e.getMessage().contains("etcdPasswordFile " + missing + " cannot be read"), e.getMessage());
        Path empty = Files.writeString(dir.resolve("empty"), "");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ClusterComponent.credentials("u", empty.toString()))
                .getMessage().contains("is empty"));
    }
}
