package io.flinkfleet.ha.core;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;

/**
 * Epoch-based fencing, the safety net behind the {@link LeadershipLock}.
 *
 * <p>A JobManager that holds the leadership lock takes the next epoch by exclusively creating
 * {@code epochs/epoch-<n>} (19-digit zero-padded). Epoch numbers are taken strictly one after
 * another, so a writer holding epoch {@code e} has been superseded exactly when
 * {@code epoch-<e+1>} exists: the check is one {@code stat}, cheap enough to run before every
 * commit. Epoch files are never deleted (not even by a full cleanup), otherwise a zombie writer
 * could believe it is the newest again.
 *
 * <p>With a lock {@link #attachLock attached}, an epoch can only be taken while the lock is
 * held, and {@link #checkNotFenced()} (run right before every commit, delete and result write)
 * first asserts that the lock is still held. A writer that lost the lock is fenced at its next
 * check even before a new leader has taken an epoch.
 */
public final class EpochFence {
    static final String PREFIX = "epoch-";

    private final Path epochsDir;
    private final DurableFiles files;
    private volatile long epoch = -1;
    private volatile boolean fenced;
    private volatile LeadershipLock lock;

    public EpochFence(Path epochsDir) {
        this(epochsDir, new DurableFiles());
    }

    public EpochFence(Path epochsDir, DurableFiles files) {
        this.epochsDir = epochsDir;
        this.files = files;
    }

    /** From now on, taking an epoch and every commit check require {@code lock} to be held. */
    public void attachLock(LeadershipLock lock) {
        this.lock = lock;
    }

    /** Takes the next epoch. Idempotent: a second call returns the epoch already held. */
    public synchronized long acquire() throws IOException {
        if (epoch >= 0) {
            return epoch;
        }
        LeadershipLock l = lock;
        if (l != null && !l.isHeld()) {
            throw new IllegalStateException("An epoch is only taken under the leadership lock " + l.file());
        }
        files.createDirectoriesDurably(epochsDir);
        long candidate = latestEpoch(epochsDir) + 1;
        byte[] owner = ("pid=" + ManagementFactory.getRuntimeMXBean().getName() + "\ncreated=" + Instant.now() + "\n")
                .getBytes(StandardCharsets.UTF_8);
        while (true) {
            try {
                files.createExclusively(fileFor(candidate), owner);
                epoch = candidate;
                files.metrics().epochTaken(epoch);
                return epoch;
            } catch (FileAlreadyExistsException e) {
                candidate++;
            }
        }
    }

    public boolean isAcquired() {
        return epoch >= 0;
    }

    /** The epoch held; fails if none was acquired (e.g. in a TaskManager). */
    public long epoch() {
        long e = epoch;
        if (e < 0) {
            throw new IllegalStateException("No epoch acquired in " + epochsDir
                    + ": HA writes are only allowed in the JobManager that holds leadership");
        }
        return e;
    }

    /** True once a newer epoch was seen; sticky, a fenced writer never writes again. */
    public boolean isFenced() {
        if (fenced) {
            return true;
        }
        long e = epoch;
        LeadershipLock l = lock;
        if (e >= 0 && ((l != null && !l.isHeld()) || Files.exists(fileFor(e + 1)))) {
            fenced = true;
        }
        return fenced;
    }

    /**
     * Throws unless this writer holds the newest epoch.
     *
     * @throws FencedException if a newer epoch exists
     */
    public void checkNotFenced() throws IOException {
        long e = epoch();
        try {
            LeadershipLock l = lock;
            if (l != null && !l.isHeld()) {
                fenced = true;
                l.checkHeld(e);
            }
            if (isFenced()) {
                throw new FencedException(e, "epoch file " + fileFor(e + 1) + " exists or the leadership lock was lost");
            }
        } catch (FencedException refused) {
            files.metrics().fenceRefused();
            throw refused;
        }
    }

    /** The JVM's HA metrics, shared with the durable writes of this fence. */
    public PvcHaMetrics metrics() {
        return files.metrics();
    }

    /**
     * Rejects reading data written by a newer epoch: the writer that finds it was superseded.
     *
     * @throws FencedException if {@code recordEpoch} is newer than this writer's epoch
     */
    public void checkRecordEpoch(long recordEpoch, Path file) throws IOException {
        long e = epoch;
        if (e >= 0 && recordEpoch > e) {
            fenced = true;
            files.metrics().fenceRefused();
            throw new FencedException(e, file + " was written by epoch " + recordEpoch);
        }
    }

    Path fileFor(long n) {
        return epochsDir.resolve(String.format("%s%019d", PREFIX, n));
    }

    /** Highest epoch on disk, 0 if none. Used at acquire time and by inspection tools. */
    public static long latestEpoch(Path epochsDir) throws IOException {
        long max = 0;
        if (!Files.isDirectory(epochsDir)) {
            return max;
        }
        try (DirectoryStream<Path> files = Files.newDirectoryStream(epochsDir, PREFIX + "*")) {
            for (Path f : files) {
                String digits = f.getFileName().toString().substring(PREFIX.length());
                try {
                    max = Math.max(max, Long.parseLong(digits));
                } catch (NumberFormatException ignored) {
                    // Not ours (e.g. an editor backup); epoch files are only ever digits.
                }
            }
        }
        return max;
    }

    @Override
    public String toString() {
        return "EpochFence{dir=" + epochsDir + ", epoch=" + epoch + ", fenced=" + fenced + "}";
    }
}
