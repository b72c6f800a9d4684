package io.flinkfleet.ha.core;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.locks.ReentrantReadWriteLock;

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
 *
 * <p>As a {@link DurableFiles.PreCommitCheck} the fence runs each check and its commit (rename or
 * unlink, and the directory fsync) under the read side of a read-write lock, and
 * {@link #releaseLock} gives the leadership lock up under the write side: leadership can end
 * early (a JobManager asked to stop) without opening a window between a commit's check and its
 * rename in which a new leader could already recover.
 */
public final class EpochFence implements DurableFiles.PreCommitCheck {
    static final String PREFIX = "epoch-";

    private final Path epochsDir;
    private final DurableFiles files;
    private volatile long epoch = -1;
    private volatile boolean fenced;
    private volatile LeadershipLock lock;
    /** Read side: a commit between its check and its rename. Write side: giving the lock up. */
    private final ReentrantReadWriteLock commits = new ReentrantReadWriteLock();

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

    /** {@link #checkNotFenced()}: the check a commit runs right before it commits. */
    @Override
    public void check() throws IOException {
        checkNotFenced();
    }

    /**
     * Checks, then commits, with {@link #releaseLock} excluded from both: a commit that passed
     * its check reaches its rename while this process still holds the leadership lock.
     */
    @Override
    public void checkThen(DurableFiles.CommitStep commit) throws IOException {
        commits.readLock().lock();
        try {
            checkNotFenced();
            commit.run();
        } finally {
            commits.readLock().unlock();
        }
    }

    /**
     * Gives {@code held} up once no commit is between its check and its rename; every later
     * check of this fence fails. The kernel would drop the lock when the process dies; this
     * ends leadership earlier (the JobManager is stopping) without a late commit.
     */
    public void releaseLock(LeadershipLock held) {
        commits.writeLock().lock();
        try {
            held.close();
        } finally {
            commits.writeLock().unlock();
        }
    }

    /**
     * Gives {@code held} up ({@link #releaseLock}) as soon as this JVM begins to stop (SIGTERM,
     * {@code System.exit}), not when it dies: a deleted pod gets SIGTERM and only seconds later
     * SIGKILL, and a standby can lead in between. Commits after that are refused.
     *
     * <p>Nothing runs before the release: the other shutdown hooks run at the same time (log4j's
     * stops its appenders), and a hook that waited on them would hand leadership over only at the
     * SIGKILL. The line on standard error comes after, with the time the release took.
     *
     * @param afterRelease runs in the hook once the lock was given up (a log line)
     * @return removes the hook (when leadership ends otherwise)
     */
    public Runnable releaseLockOnJvmStop(LeadershipLock held, Runnable afterRelease) {
        Thread hook = new Thread(() -> {
            boolean leading = held.isHeld();
            long start = System.nanoTime();
            releaseLock(held);
            if (leading) {
                System.err.printf("%s pvc-ha: the JVM is stopping: leadership lock %s given up in %d ms%n",
                        java.time.Instant.now(), held.file(), (System.nanoTime() - start) / 1_000_000);
                afterRelease.run();
            }
        }, "pvc-ha-give-up-leadership");
        try {
            Runtime.getRuntime().addShutdownHook(hook);
        } catch (IllegalStateException stopping) {
            releaseLock(held); // already stopping: nothing to lead
            return () -> {};
        }
        return () -> {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException stopping) {
                // The hook runs or ran: it gives the same lock up, idempotently.
            }
        };
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
