package io.flinkfleet.ha.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A leader stopped in the middle of a write (after its first check, before its rename) while
 * leadership moves. Latches, not timing, order the steps.
 */
class StaleLeaderTest {
    @TempDir Path dir;
    private PvcHaLayout layout;
    private final ExecutorService threads = Executors.newCachedThreadPool();
    private final CountDownLatch paused = new CountDownLatch(1);
    private final CountDownLatch resume = new CountDownLatch(1);

    @BeforeEach
    void setUp() {
        layout = new PvcHaLayout(dir.resolve("meta"));
    }

    @AfterEach
    void tearDown() {
        resume.countDown();
        threads.shutdownNow();
    }

    private EpochFence leader(LeadershipLock lock) throws Exception {
        lock.acquire();
        EpochFence f = new EpochFence(layout.epochs());
        f.attachLock(lock);
        f.acquire();
        return f;
    }

    /** A write of the old leader that pauses after its temp file is durable, before the commit check. */
    private Future<HaRecord> pausedWrite(EpochFence fence) {
        DurableFiles pausing = new DurableFiles((step, t) -> {
            if (step == WriteStep.TEMP_FSYNCED) {
                paused.countDown();
                try {
                    resume.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        });
        FileRecordStore store = new FileRecordStore(layout.executionPlans(), fence, pausing);
        return threads.submit(() -> store.write("e", 1, false, "stale".getBytes(StandardCharsets.UTF_8)));
    }

    /**
     * The old leader's lock is lost while it is paused, and a new leader takes the lock (but has
     * not taken its epoch yet, so the epoch fence cannot tell): the old leader's commit is
     * refused by the lock assertion right before the rename.
     */
    @Test
    void leaderThatLostTheLockIsRefusedAtCommit() throws Exception {
        LeadershipLock oldLock = new LeadershipLock(layout.lockFile());
        EpochFence oldFence = leader(oldLock);
        Future<HaRecord> write = pausedWrite(oldFence);
        paused.await();

        oldLock.close(); // lost behind the old leader's back
        LeadershipLock newLock = new LeadershipLock(layout.lockFile());
        newLock.acquire(); // the new leader holds the lock; its epoch comes next
        try {
            resume.countDown();
            assertThatThrownBy(write::get).isInstanceOf(ExecutionException.class)
                    .hasCauseInstanceOf(FencedException.class);
            assertThat(layout.executionPlans().resolve("e")).doesNotExist();
        } finally {
            newLock.close();
        }
    }

    /** While the old leader holds the lock, nobody else gets it: its paused commit is legitimate. */
    @Test
    void newLeaderCannotTakeOverWhileTheOldOneHoldsTheLock() throws Exception {
        LeadershipLock oldLock = new LeadershipLock(layout.lockFile());
        EpochFence oldFence = leader(oldLock);
        Future<HaRecord> write = pausedWrite(oldFence);
        paused.await();

        LeadershipLock newLock = new LeadershipLock(layout.lockFile());
        CountDownLatch waiting = new CountDownLatch(1);
        Future<?> takeover = threads.submit(() -> {
            waiting.countDown();
            newLock.acquire();
            return null;
        });
        waiting.await();
        assertThat(newLock.isHeld()).isFalse();
        resume.countDown();
        assertThat(write.get().epoch()).isEqualTo(oldFence.epoch()); // committed by the holder
        assertThat(takeover.isDone()).isFalse();
        assertThat(newLock.isHeld()).isFalse();

        oldLock.close(); // the old leader dies
        takeover.get();
        assertThat(newLock.isHeld()).isTrue();
        EpochFence newFence = new EpochFence(layout.epochs());
        newFence.attachLock(newLock);
        assertThat(newFence.acquire()).isEqualTo(oldFence.epoch() + 1);
        assertThatThrownBy(oldFence::checkNotFenced).isInstanceOf(FencedException.class);
        newLock.close();
    }

    /** A write of the leader that passed its commit check and pauses right before its rename. */
    private Future<HaRecord> writePausedAtRename(EpochFence fence, String name) {
        FileIo pausingRename = new ForwardingFileIo(NioFileIo.INSTANCE) {
            @Override
            public void rename(Path from, Path to) throws java.io.IOException {
                if (to.getFileName().toString().equals(name)) {
                    paused.countDown();
                    try {
                        resume.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                super.rename(from, to);
            }
        };
        FileRecordStore store = new FileRecordStore(layout.executionPlans(), fence, new DurableFiles(pausingRename));
        return threads.submit(() -> store.write(name, 1, false, "checked".getBytes(StandardCharsets.UTF_8)));
    }

    /**
     * Leadership given up early (the JobManager was asked to stop) while a commit is between its
     * check and its rename: the lock goes only after that rename, so a new leader recovers the
     * committed entry, never one that appears after it recovered. Later commits are refused.
     */
    @Test
    void leadershipIsGivenUpOnlyBetweenCommits() throws Exception {
        LeadershipLock oldLock = new LeadershipLock(layout.lockFile());
        EpochFence oldFence = leader(oldLock);
        Future<HaRecord> write = writePausedAtRename(oldFence, "e");
        paused.await();

        Future<?> release = threads.submit(() -> oldFence.releaseLock(oldLock));
        LeadershipLock newLock = new LeadershipLock(layout.lockFile());
        Future<Boolean> newLeaderSawTheEntry = threads.submit(() -> {
            newLock.acquire();
            return java.nio.file.Files.exists(layout.executionPlans().resolve("e"));
        });
        // Nothing can finish while the checked commit is paused: no release, no new leader.
        assertThatThrownBy(() -> newLeaderSawTheEntry.get(300, java.util.concurrent.TimeUnit.MILLISECONDS))
                .isInstanceOf(java.util.concurrent.TimeoutException.class);
        assertThat(release.isDone()).isFalse();

        resume.countDown();
        assertThat(write.get().epoch()).isEqualTo(oldFence.epoch());
        release.get();
        try {
            assertThat(newLeaderSawTheEntry.get()).isTrue();
            FileRecordStore late = new FileRecordStore(layout.executionPlans(), oldFence, new DurableFiles());
            assertThatThrownBy(() -> late.write("late", 1, false, new byte[] {1})).isInstanceOf(FencedException.class);
            assertThat(layout.executionPlans().resolve("late")).doesNotExist();
        } finally {
            newLock.close();
        }
    }

    @Test
    void noEpochWithoutTheLock() {
        LeadershipLock lock = new LeadershipLock(layout.lockFile());
        EpochFence f = new EpochFence(layout.epochs());
        f.attachLock(lock);
        assertThatThrownBy(f::acquire).isInstanceOf(IllegalStateException.class);
    }
}
