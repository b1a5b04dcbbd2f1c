package io.septum.kvstore.etcd.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.Labels;
import io.septum.api.RemoteEndpoint;
import io.septum.testsupport.Await;
import io.septum.testsupport.TestFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * etcd with authentication on, set up by scripts/etcd-roles.sh exactly as an operator runs it, against a real etcd:
 * the agent's client authenticates (token in the Authorization header, renewed when etcd drops it), each node's role
 * lets it do what the agent does and nothing under another node's name, and operator-written CIDRs bound what a node
 * can claim whatever it registers.
 */
class EtcdRolesTest {
    @RegisterExtension
    static final TestEtcd.PerClass etcd = new TestEtcd.PerClass();
    static Path dir;
    static Path rootPassword;
    static final List<AutoCloseable> open = new ArrayList<>();

    @BeforeAll
    static void setUp() throws Exception {
        dir = Files.createTempDirectory("septum-etcd-roles");
        rootPassword = dir.resolve("root.password");
        Files.writeString(rootPassword, "root-secret\n");
        String out = script("--node", "node-a", "--node", "node-b", "--cidr", "node-a=10.201.1.0/24");
        assertTrue(out.contains("authentication enabled"), out);
    }

    @AfterAll
    static void tearDown() throws Exception {
        TestFiles.deleteTree(dir);
    }

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : open) c.close();
        open.clear();
    }

    /** Runs the script with the test etcd and root password; fails the test with its output when it fails. */
    static String script(String... args) throws Exception {
        Path script = Path.of("../../scripts/etcd-roles.sh").toAbsolutePath().normalize();
        assertTrue(Files.isExecutable(script), "missing " + script);
        List<String> cmd = new ArrayList<>(List.of(script.toString(), "--endpoints", etcd.endpoint().toString(),
                "--password-file", rootPassword.toString(), "--credentials-dir", dir.resolve("creds").toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "script timed out: " + out);
        assertEquals(0, p.exitValue(), "etcd-roles.sh " + String.join(" ", args) + ": " + out);
        return out;
    }

    static String password(String node) throws IOException {
        return Files.readAllLines(dir.resolve("creds/septum-node-" + node + ".password")).get(0);
    }

    static EtcdClient client(EtcdClient.Credentials credentials) {
        return new EtcdClient(EtcdClient.Options.insecure(etcd.endpoint()).withCredentials(credentials));
    }

    static EtcdClient node(String name) throws IOException {
        return client(new EtcdClient.Credentials("septum-node-" + name, password(name)));
    }

    static EtcdClient root() {
        return client(new EtcdClient.Credentials("root", "root-secret"));
    }

    static String ipValue(String ip, String node) {
        return "{\"ip\":\"" + ip + "\",\"identity\":300,\"node\":\"" + node + "\",\"namespace\":\"default\",\"name\":\"x\"}";
    }

    @Test
    void nodeACredentialsCannotWriteUnderNodeB() throws Exception {
        EtcdClient a = node("node-a");
        long lease = a.grant(30);
        // its own keys
        a.put("septum/state/nodes/v1/node-a", "{\"name\":\"node-a\"}", lease);
        a.put("septum/state/ip/v1/node-a/10.201.1.5", ipValue("10.201.1.5", "node-a"), lease);
        a.put("septum/state/policy-status/v1/node-a", "{}", lease);
        // node-b's, and the operator's: refused, and the error says who and why
        for (String key : List.of("septum/state/ip/v1/node-b/10.201.2.5", "septum/state/nodes/v1/node-b",
                "septum/state/policy-status/v1/node-b", "septum/state/node-cidrs/v1/node-a", "septum/state/ip/v1/node-ab/1.2.3.4",
                "septum/cluster-config/default", "other/key")) {
            EtcdClient.EtcdException e = assertThrows(EtcdClient.EtcdException.class, () -> a.put(key, "{}", lease), key);
            assertEquals(403, e.status(), key);
            assertTrue(e.getMessage().contains("permission denied") && e.getMessage().contains("septum-node-node-a"), e.getMessage());
        }
        assertThrows(EtcdClient.EtcdException.class, () -> a.deletePrefix("septum/state/ip/v1/node-b/"));
        // it reads everything under septum/, the operator's CIDRs included
        assertEquals("{\"cidrs\":[\"10.201.1.0/24\"]}", a.get("septum/state/node-cidrs/v1/node-a").first().value());
        // the shared parts stay writable: identities (masters and references) and, by default, cluster policies
        a.put("septum/state/identities/v1/value/x/node-b", "300", lease);
        a.put("septum/state/policies/v1/_/p", "{}", 0);
        a.revoke(lease);
        assertTrue(a.get("septum/state/ip/v1/node-a/10.201.1.5").kvs().isEmpty(), "its keys went with its lease");
    }

    @Test
    void withoutOrWithWrongCredentialsTheErrorSaysWhatToSet() throws Exception {
        EtcdClient anonymous = new EtcdClient(EtcdClient.Options.insecure(etcd.endpoint()));
        IOException e = assertThrows(IOException.class, () -> anonymous.get("septum/x"));
        assertTrue(e.getMessage().contains("set etcdUser and etcdPasswordFile"), e.getMessage());
        EtcdClient wrong = client(new EtcdClient.Credentials("septum-node-node-a", "not-it"));
        e = assertThrows(IOException.class, () -> wrong.get("septum/x"));
        assertTrue(e.getMessage().contains("cannot authenticate to etcd as user septum-node-node-a")
                && e.getMessage().contains("invalid user ID or password"), e.getMessage());
    }

    @Test
    void theAgentsPiecesWorkUnderTheRoles() throws Exception {
        EtcdClient a = node("node-a");
        EtcdClient b = node("node-b");
        LeaseSession la = lease(a);
        LeaseSession lb = lease(b);
        assertTrue(la.id() != 0 && lb.id() != 0);
        KvstoreIdentityAllocator ida = new KvstoreIdentityAllocator(a, la, KvstoreIdentityAllocator.DEFAULT_PREFIX, "node-a",
                Files.createDirectories(dir.resolve("state-a")));
        KvstoreIdentityAllocator idb = new KvstoreIdentityAllocator(b, lb, KvstoreIdentityAllocator.DEFAULT_PREFIX, "node-b",
                Files.createDirectories(dir.resolve("state-b")));
        Labels web = Labels.parse(List.of("k8s:app=web"), "k8s");
        assertEquals(ida.allocate(web).id(), idb.allocate(web).id(), "one number on both nodes, under their roles");
        new IdentityGc(b, KvstoreIdentityAllocator.DEFAULT_PREFIX).run();

        IpcacheSync sa = sync(a, la, "node-a", "192.0.2.11", "10.201.1.0/24");
        IpcacheSync sb = sync(b, lb, "node-b", "192.0.2.12", "10.201.2.0/24");
        await("node-b sees node-a registered", () -> sb.nodes().stream().anyMatch(n -> n.name().equals("node-a")));
        assertTrue(sb.synced() && sa.synced());
        assertEquals(null, sa.problem());
    }

    @Test
    void aNodeThatRegistersAWideCidrCannotTakeAddressesOutsideItsOperatorCidrs() throws Exception {
        EtcdClient a = node("node-a");
        EtcdClient b = node("node-b");
        LeaseSession la = lease(a);
        // a compromised node-a registers every address as its endpoint range
        sync(a, la, "node-a", "192.0.2.11", "0.0.0.0/0");
        IpcacheSync sb = sync(b, lease(b), "node-b", "192.0.2.12", "10.201.2.0/24");
        a.put("septum/state/ip/v1/node-a/10.201.9.5", ipValue("10.201.9.5", "node-a"), la.id());
        a.put("septum/state/ip/v1/node-a/10.201.1.5", ipValue("10.201.1.5", "node-a"), la.id());
        await("node-b takes node-a's address inside its operator CIDRs", () -> has(sb, "10.201.1.5"));
        assertFalse(has(sb, "10.201.9.5"), "outside the operator's 10.201.1.0/24, inside node-a's own 0.0.0.0/0: refused "
                + sb.list());

        // the key is what bounds it: without it, node-a's own claim counts again; with it back, the address goes
        script("--cidr", "node-a=");
        await("without operator CIDRs, node-a's registered ones count", () -> has(sb, "10.201.9.5"));
        script("--cidr", "node-a=10.201.1.0/24,10.201.3.0/24");
        await("operator CIDRs back: the address leaves node-b's view", () -> !has(sb, "10.201.9.5"));
        assertTrue(has(sb, "10.201.1.5"));
        // and node-a cannot write its own operator key
        assertThrows(EtcdClient.EtcdException.class, () -> a.put("septum/state/node-cidrs/v1/node-a",
                "{\"cidrs\":[\"0.0.0.0/0\"]}", 0));
    }

    @Test
    void anExpiredTokenIsRenewed() throws Exception {
        EtcdClient a = node("node-a");
        a.put("septum/state/nodes/v1/node-a", "{}", 0);
        // disabling and enabling authentication drops every token etcd handed out
        try (EtcdClient r = root()) {
            r.get("septum/");
        }
        sh(true, "auth", "disable");
        sh(false, "auth", "enable"); // with authentication off, etcdctl must not log in

        a.put("septum/state/nodes/v1/node-a", "{\"again\":true}", 0);
        assertEquals("{\"again\":true}", a.get("septum/state/nodes/v1/node-a").first().value());
    }

    @Test
    void runningTheScriptAgainKeepsPasswordsAndPermissions() throws Exception {
        String before = password("node-a");
        script("--node", "node-a", "--node", "node-b");
        assertEquals(before, password("node-a"));
        EtcdClient a = node("node-a");
        a.put("septum/state/ip/v1/node-a/10.201.1.6", ipValue("10.201.1.6", "node-a"), 0);
        assertThrows(EtcdClient.EtcdException.class, () -> a.put("septum/state/ip/v1/node-b/10.201.2.6", "{}", 0));
        a.delete("septum/state/ip/v1/node-a/10.201.1.6");
    }

    static LeaseSession lease(EtcdClient c) {
        LeaseSession l = new LeaseSession(c, 30);
        open.add(l);
        return l;
    }

    /** One node's ipcache sync, registered with its own credentials, listing and watching the others. */
    static IpcacheSync sync(EtcdClient c, LeaseSession l, String node, String address, String cidr) {
        IpcacheSync s = new IpcacheSync(c, l, new IpcacheSync.NodeInfo(node, List.of(address), List.of(cidr), "test", 0),
                Runnable::run);
        open.add(s);
        s.start();
        return s;
    }

    static boolean has(IpcacheSync s, String ip) {
        return s.list().stream().map(RemoteEndpoint::ip).anyMatch(ip::equals);
    }

    private static void sh(boolean asRoot, String... etcdctlArgs) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("etcdctl", "--endpoints", etcd.endpoint().toString()));
        cmd.addAll(List.of(etcdctlArgs));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("ETCDCTL_API", "3");
        if (asRoot) pb.environment().put("ETCDCTL_USER", "root:root-secret");
        else pb.environment().remove("ETCDCTL_USER");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), String.join(" ", etcdctlArgs) + ": " + out);
    }

    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        Await.until(what, Duration.ofSeconds(10), condition);
    }
}
