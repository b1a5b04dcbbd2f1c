package io.septum.identity.internal;

import io.septum.api.Identity;
import io.septum.api.Label;
import io.septum.api.Labels;

import java.nio.file.Path;
import java.util.List;
import java.util.Random;

/**
 * The process {@link AllocatorCrashTest} kills: allocates identities in a loop through the real
 * {@link LocalIdentityAllocator} on a state directory, and prints {@code PERSISTED <id> <round> <n> .} (the label set
 * is {@link #labels labels(round, n)}) after each
 * allocation returned (which is after the table was written). Label sets are new ones of this round, and now and
 * then one of an earlier round, which must come back with its old number.
 *
 * <p>Arguments: state directory, round number, seed.
 */
public final class AllocatorCrashChild {
    /** Bounds a child whose kill never comes (the test fails then); the table stays well inside 256..65535. */
    static final int MAX_ALLOCATIONS = 2000;
    static final long MAX_RUN_MILLIS = 30_000;

    private AllocatorCrashChild() {
    }

    static Labels labels(int round, int n) {
        return Labels.parse(List.of("netns:crash-round=" + round, "netns:crash-n=" + n,
                "k8s:io.kubernetes.pod.namespace=default"), Label.ANY);
    }

    public static void main(String[] args) throws InterruptedException {
        Path dir = Path.of(args[0]);
        int round = Integer.parseInt(args[1]);
        Random random = new Random(Long.parseLong(args[2]));
        LocalIdentityAllocator allocator = new LocalIdentityAllocator(dir);
        System.out.println("READY");
        System.out.flush();
        long deadline = System.currentTimeMillis() + MAX_RUN_MILLIS;
        for (int n = 0; n < MAX_ALLOCATIONS && System.currentTimeMillis() < deadline; n++) {
            boolean old = round > 0 && random.nextInt(4) == 0;
            int r = old ? random.nextInt(round) : round;
            int k = old ? random.nextInt(50) : n;
            Identity id = allocator.allocate(labels(r, k));
            System.out.println("PERSISTED " + id.id() + " " + r + " " + k + " .");
            System.out.flush();
        }
        // Done early: wait to be killed like the others.
        while (System.currentTimeMillis() < deadline) Thread.sleep(100);
        System.exit(3);
    }
}
