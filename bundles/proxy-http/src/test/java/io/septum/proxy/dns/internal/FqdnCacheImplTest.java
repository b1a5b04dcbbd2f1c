package io.septum.proxy.dns.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.fqdn.FqdnEntry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FqdnCacheImplTest {
    @TempDir
    Path dir;
    final AtomicLong now = new AtomicLong(1_000_000);

    FqdnCacheImpl cache(long minTtl, int max) {
        return new FqdnCacheImpl(dir.resolve("fqdn/cache"), now::get, minTtl, 86_400, max);
    }

    @Test
    void learnsWithTheMinimumTtlAndTellsListenersOfNewAddressesOnly() {
        FqdnCacheImpl c = cache(3600, 100);
        AtomicInteger changes = new AtomicInteger();
        c.addListener(changes::incrementAndGet);
        c.learn("API.example.com.", List.of(new DnsMessage.Answer("10.0.0.1", 30)), 7);
        assertEquals(List.of(new FqdnEntry("api.example.com", "10.0.0.1", 3600, 1_000_000 + 3_600_000, 7)), c.entries());
        assertEquals(1, changes.get());
        now.addAndGet(1000);
        c.learn("api.example.com", List.of(new DnsMessage.Answer("10.0.0.1", 7200)), 7);
        assertEquals(1, changes.get(), "a refreshed TTL changes no allow");
        assertEquals(7200, c.entries().get(0).ttl());
        c.learn("api.example.com", List.of(new DnsMessage.Answer("10.0.0.2", 7200)), 8);
        assertEquals(2, changes.get());
        assertEquals(2, c.entries().size());
    }

    @Test
    void anAnswerNamesEveryAddressItsClientNeedsOpenedAlsoOnesAnotherLookupLearned() {
        // two clients look up the same name at once: the second answer must wait for the allows as the first does
        FqdnCacheImpl c = cache(3600, 100);
        assertEquals(List.of("10.0.0.1"), c.learn("api.example.com", List.of(new DnsMessage.Answer("10.0.0.1", 30)), 7));
        assertEquals(List.of("10.0.0.1", "10.0.0.2"), c.learn("api.example.com",
                List.of(new DnsMessage.Answer("10.0.0.1", 30), new DnsMessage.Answer("10.0.0.2", 30)), 8));
        assertEquals(List.of("10.0.0.3"), c.learn("api.example.com",
                List.of(new DnsMessage.Answer("127.0.0.1", 30), new DnsMessage.Answer("10.0.0.3", 30)), 8),
                "never a loopback address: nothing would ever open it, and the answer would wait its full second");
    }

    @Test
    void expiredEntriesGoAndCleanForgetsNames() {
        FqdnCacheImpl c = cache(0, 100);
        c.learn("a.example", List.of(new DnsMessage.Answer("10.0.0.1", 10)), 1);
        c.learn("b.example", List.of(new DnsMessage.Answer("10.0.0.2", 100)), 1);
        now.addAndGet(11_000);
        assertEquals(1, c.entries().size(), "an expired entry is no longer listed");
        assertTrue(c.expire());
        assertEquals(1, c.clean("B.example."));
        assertEquals(List.of(), c.entries());
        assertEquals(0, c.clean(null));
    }

    @Test
    void keptAcrossRestartsAndABadLineIsSkipped() throws Exception {
        FqdnCacheImpl c = cache(3600, 100);
        c.learn("api.example.com", List.of(new DnsMessage.Answer("10.0.0.1", 60), new DnsMessage.Answer("2001:db8::1", 60)), 3);
        assertTrue(Files.notExists(dir.resolve("fqdn/cache")), "written by flush, off the proxy's event loop");
        c.flush();
        Path f = dir.resolve("fqdn/cache");
        Files.writeString(f, Files.readString(f) + "garbage line\nx.example host.evil 60 99999999999 1\n");
        FqdnCacheImpl again = cache(3600, 100);
        assertEquals(c.entries(), again.entries());
        assertEquals(2, again.entries().size(), "the bad lines are skipped, the rest loads");
    }

    @Test
    void oneOfANamesAddressesExpiringIsForgottenAndToldAtOnce() {
        FqdnCacheImpl c = cache(0, 100);
        AtomicInteger changes = new AtomicInteger();
        c.learn("a.example", List.of(new DnsMessage.Answer("10.0.0.1", 10), new DnsMessage.Answer("10.0.0.2", 100)), 1);
        c.addListener(changes::incrementAndGet);
        now.addAndGet(11_000);
        assertTrue(c.expire(), "one address of a name that keeps another went");
        assertEquals(1, changes.get());
        assertEquals(List.of("10.0.0.2"), c.entries().stream().map(FqdnEntry::ip).toList());
    }

    @Test
    void ttlsAreCappedAndLocalAddressesNeverLearned() {
        FqdnCacheImpl c = new FqdnCacheImpl(null, now::get, 60, 3600, 100);
        c.learn("a.example", List.of(new DnsMessage.Answer("10.0.0.1", Integer.MAX_VALUE),
                new DnsMessage.Answer("127.0.0.1", 60), new DnsMessage.Answer("169.254.169.254", 60),
                new DnsMessage.Answer("0.0.0.0", 60), new DnsMessage.Answer("fe80::1", 60)), 1);
        assertEquals(List.of(new FqdnEntry("a.example", "10.0.0.1", 3600, 1_000_000 + 3_600_000, 1)), c.entries());
    }

    @Test
    void beyondTheLimitTheEntriesExpiringFirstMakeRoom() {
        FqdnCacheImpl c = cache(0, 2);
        c.learn("a.example", List.of(new DnsMessage.Answer("10.0.0.1", 10)), 1);
        c.learn("b.example", List.of(new DnsMessage.Answer("10.0.0.2", 300)), 1);
        c.learn("c.example", List.of(new DnsMessage.Answer("10.0.0.3", 200)), 1);
        assertEquals(List.of("b.example", "c.example"), c.entries().stream().map(FqdnEntry::name).toList());
    }
}
