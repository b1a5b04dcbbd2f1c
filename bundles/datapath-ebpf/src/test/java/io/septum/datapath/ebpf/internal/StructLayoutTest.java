package io.septum.datapath.ebpf.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import jnr.ffi.Runtime;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The C↔Java layout contract: every Java mirror has the size of its C struct, and each field sits at the C
 * field's offset, as read from the compiled object's BTF ({@code bpftool btf dump file X format raw}).
 */
class StructLayoutTest {
    private static final Pattern STRUCT = Pattern.compile("^\\[\\d+\\] STRUCT '([^']*)' size=(\\d+) vlen=(\\d+)");
    private static final Pattern MEMBER = Pattern.compile("^\\s+'([^']*)' type_id=\\d+ bits_offset=(\\d+)");

    record CStruct(int size, Map<String, Integer> offsets) {
    }

    static Map<String, CStruct> btf;

    @BeforeAll
    static void readBtf() throws Exception {
        Path obj = Files.createTempFile("septum-layout", ".o");
        try {
            Files.write(obj, EbpfDatapath.bundledObject());
            Process p = new ProcessBuilder("bpftool", "btf", "dump", "file", obj.toString(), "format", "raw")
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0, "bpftool failed: " + out);
            btf = parse(out);
        } finally {
            Files.deleteIfExists(obj);
        }
    }

    static Map<String, CStruct> parse(String dump) {
        Map<String, CStruct> structs = new LinkedHashMap<>();
        String[] lines = dump.split("\n");
        for (int i = 0; i < lines.length; i++) {
            Matcher m = STRUCT.matcher(lines[i]);
            if (!m.find()) continue;
            int vlen = Integer.parseInt(m.group(3));
            Map<String, Integer> offsets = new LinkedHashMap<>();
            for (int j = 1; j <= vlen; j++) {
                Matcher mm = MEMBER.matcher(lines[i + j]);
                if (mm.find()) offsets.put(mm.group(1), Integer.parseInt(mm.group(2)));
            }
            structs.put(m.group(1), new CStruct(Integer.parseInt(m.group(2)), offsets));
        }
        return structs;
    }

    static List<Structs.Mirror> mirrors() {
        Runtime r = Runtime.getSystemRuntime();
        return List.of(new Structs.IpcacheKey(r), new Structs.IpcacheValue(r), new Structs.EndpointValue(r),
                new Structs.PolicyKey(r), new Structs.PolicyValue(r), new Structs.PolicyStatsKey(r),
                new Structs.CtKey(r), new Structs.CtValue(r), new Structs.Event(r),
                new Structs.LbSvcKey(r), new Structs.LbSvcValue(r), new Structs.LbSlotKey(r), new Structs.LbBackend(r),
                new Structs.LbCtKey(r), new Structs.LbCtValue(r), new Structs.LbRnatKey(r), new Structs.LbRnatValue(r),
                new Structs.LbVipValue(r),
                new Structs.ProxyConfig(r), new Structs.LxcKey(r), new Structs.LxcValue(r), new Structs.IfMac(r),
                new Structs.FailsafeKey(r));
    }

    @Test
    void everyMirrorMatchesItsCStruct() {
        for (Structs.Mirror m : mirrors()) {
            CStruct c = btf.get(m.cName());
            assertNotNull(c, "struct " + m.cName() + " is not in the object's BTF");
            assertEquals(c.size(), m.size(), "size of struct " + m.cName());
            assertEquals(c.offsets().keySet(), m.members().keySet(), "fields of struct " + m.cName());
            for (Map.Entry<String, Long> f : m.members().entrySet()) {
                assertEquals(c.offsets().get(f.getKey()) / 8, f.getValue().intValue(),
                        "offset of " + m.cName() + "." + f.getKey());
            }
        }
    }

    /**
     * Both objects define every pinned map with the key and value sizes the Java side reads and writes (what
     * {@link BpfObjects} checks again before each load). Opening an object needs no privileges: no root here.
     */
    @Test
    void everyMapOfBothObjectsHasTheSizesOfItsJavaMirrors() throws Exception {
        LibBpf lib = jnr.ffi.LibraryLoader.create(LibBpf.class).failImmediately().load("bpf");
        Runtime r = Runtime.getRuntime(lib);
        byte[] cg;
        try (var in = EbpfDatapath.class.getResourceAsStream(EbpfDatapath.CGROUP_OBJECT_RESOURCE)) {
            assertNotNull(in, EbpfDatapath.CGROUP_OBJECT_RESOURCE);
            cg = in.readAllBytes();
        }
        for (byte[] object : List.of(EbpfDatapath.bundledObject(), cg)) {
            jnr.ffi.Pointer mem = r.getMemoryManager().allocateDirect(object.length, false);
            mem.put(0, object, 0, object.length);
            jnr.ffi.Pointer obj = lib.bpf_object__open_mem(mem, object.length, null);
            assertNotNull(obj, "libbpf opens the object");
            try {
                for (BpfMaps.Spec s : BpfMaps.specs(r)) {
                    jnr.ffi.Pointer map = lib.bpf_object__find_map_by_name(obj, s.name());
                    assertNotNull(map, "map " + s.name());
                    assertEquals(null, BpfObjects.sizeMismatch(lib, map, s));
                }
                // the check can fail: a spec one byte off is reported with both sides' sizes
                BpfMaps.Spec ipcache = BpfMaps.specs(r).get(0);
                String m = BpfObjects.sizeMismatch(lib, lib.bpf_object__find_map_by_name(obj, ipcache.name()),
                        new BpfMaps.Spec(ipcache.name(), ipcache.keySize() + 1, ipcache.valueSize()));
                assertTrue(m != null && m.contains(ipcache.name()), String.valueOf(m));
            } finally {
                lib.bpf_object__close(obj);
            }
        }
    }

    @Test
    void parserSeesAMismatch() {
        // the check must be able to fail: a C struct with a field moved is reported
        CStruct fake = parse("[1] STRUCT 'ipcache_value' size=8 vlen=2\n\t'identity' type_id=2 bits_offset=32\n"
                + "\t'flags' type_id=2 bits_offset=0\n").get("ipcache_value");
        Structs.IpcacheValue v = new Structs.IpcacheValue(Runtime.getSystemRuntime());
        assertTrue(fake.offsets().get("identity") / 8 != v.identity.offset());
    }
}
