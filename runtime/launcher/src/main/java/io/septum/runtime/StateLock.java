package io.septum.runtime;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * An exclusive lock on the state directory ({@code <state>/agent.lock}), taken before the agent touches anything in
 * it and held until the agent has stopped. The kernel releases it when the process ends, however it ends, so a
 * killed agent leaves no stale lock. The pid file alone could not guard the start: it is written once the
 * framework runs, and a second agent started before that would empty the first one's bundle cache.
 */
final class StateLock implements AutoCloseable {
    static final String FILE = "agent.lock";

    private final FileChannel channel;
    private final FileLock lock;

    private StateLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /** Takes the lock and writes this process's pid into the file, or refuses, naming the agent that holds it. */
    static StateLock acquire(Path stateDir) throws Launcher.LaunchException {
        Path file = stateDir.resolve(FILE);
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new Launcher.LaunchException("cannot open " + file + ": " + e.getMessage(), e);
        }
        try {
            FileLock lock;
            try {
                lock = ch.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null; // held by another agent in this JVM (tests)
            }
            if (lock == null) {
                String holder = holder(ch);
                ch.close();
                throw new Launcher.LaunchException("another Septum agent" + (holder.isEmpty() ? "" : " (pid " + holder + ")")
                        + " is using the state directory " + stateDir + " (" + file + " is locked): stop it first, or give"
                        + " this one another --state-dir");
            }
            ch.truncate(0);
            ch.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
            return new StateLock(ch, lock);
        } catch (IOException e) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // the lock goes with the channel
            }
            throw new Launcher.LaunchException("cannot lock " + file + ": " + e.getMessage(), e);
        }
    }

    /** The pid the holder wrote, or "" when it has not written it yet (or wrote something else). */
    private static String holder(FileChannel ch) {
        try {
            ByteBuffer b = ByteBuffer.allocate(32);
            ch.read(b, 0);
            String s = new String(b.array(), 0, b.position(), StandardCharsets.US_ASCII).trim();
            return s.matches("[0-9]{1,19}") ? s : "";
        } catch (IOException e) {
            return "";
        }
    }

    /** Releases the lock; the file stays (removing it would let a third agent lock a new file beside a holder). */
    @Override
    public void close() {
        try {
            if (lock.isValid()) lock.release();
            channel.close();
        } catch (IOException e) {
            // closing the channel releases the lock in any case
        }
    }

}
