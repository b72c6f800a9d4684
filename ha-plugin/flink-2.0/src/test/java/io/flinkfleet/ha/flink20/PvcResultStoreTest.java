package io.flinkfleet.ha.flink20;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flinkfleet.ha.core.DurableFiles;
import io.flinkfleet.ha.core.FaultSeam;
import io.flinkfleet.ha.core.FencedException;
import io.flinkfleet.ha.core.FileIo;
import io.flinkfleet.ha.core.ForwardingFileIo;
import io.flinkfleet.ha.core.LeadershipLock;
import io.flinkfleet.ha.core.NioFileIo;
import io.flinkfleet.ha.core.TestingPowerCutFileIo;
import io.flinkfleet.ha.core.WriteStep;

import org.apache.flink.api.common.JobID;
import org.apache.flink.runtime.clusterframework.ApplicationStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.HighAvailabilityOptions;
import org.apache.flink.runtime.blob.VoidBlobStore;
import org.apache.flink.runtime.highavailability.JobResultEntry;
import org.apache.flink.runtime.jobmaster.JobResult;
import org.apache.flink.util.concurrent.Executors;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Job results and cleanup through {@link PvcHaServices}: crash-atomic, durable result writes,
 * fenced (lock + epoch) at the moment they commit, and cleanups refused without leadership.
 */
class PvcResultStoreTest {
    @TempDir Path tmp;
    private final List<LeadershipLock> locks = new ArrayList<>();

    @BeforeEach
    void setUp() throws IOException {
        Files.createDirectories(tmp.resolve("storage")); // the mounted volume exists before the JobManager
    }

    @org.junit.jupiter.api.AfterEach
    void tearDown() {
        locks.forEach(LeadershipLock::close);
    }

    private Configuration config() {
        Configuration c = new Configuration();
        c.set(HighAvailabilityOptions.HA_MODE, PvcHaServicesFactory.class.getName());
        c.set(HighAvailabilityOptions.HA_STORAGE_PATH, tmp.resolve("storage").toUri().toString());
        c.set(HighAvailabilityOptions.HA_CLUSTER_ID, "cluster-a");
        return c;
    }

    private PvcHaServices services(DurableFiles files, Executor io) throws Exception {
        return PvcHaServices.create(config(), io, new VoidBlobStore(), files);
    }

    /** What the leader election driver does: the lock, then the epoch under it. */
    private LeadershipLock lead(PvcHaServices s) throws Exception {
        LeadershipLock lock = new LeadershipLock(s.layout().lockFile());
        lock.acquire();
        locks.add(lock);
        s.epochFence().attachLock(lock);
        s.epochFence().acquire();
        return lock;
    }

    private static JobResultEntry result(JobID job) {
        return new JobResultEntry(new JobResult.Builder().jobId(job).applicationStatus(ApplicationStatus.SUCCEEDED).netRuntime(1).build());
    }

    private Path resultDir() {
        return tmp.resolve("storage/job-result-store/cluster-a");
    }

    /** Written results survive a power cut: fails without the fsyncs of the result write or the clean rename. */
    @Test
    void resultsSurvivePowerCut() throws Exception {
        TestingPowerCutFileIo power = new TestingPowerCutFileIo(tmp);
        JobID dirty = new JobID();
        JobID clean = new JobID();
        try (PvcHaServices s = services(new DurableFiles(power), Executors.directExecutor())) {
            LeadershipLock lock = lead(s);
            s.getJobResultStore().createDirtyResultAsync(result(dirty)).get();
            s.getJobResultStore().createDirtyResultAsync(result(clean)).get();
            s.getJobResultStore().markResultAsCleanAsync(clean).get();
            lock.close();
        }
        power.powerCut();
        try (PvcHaServices s = services(new DurableFiles(NioFileIo.INSTANCE), Executors.directExecutor())) {
            lead(s);
            assertThat(s.getJobResultStore().getDirtyResults()).extracting(JobResult::getJobId).containsExactly(dirty);
            assertThat(s.getJobResultStore().hasCleanJobResultEntryAsync(clean).get()).isTrue();
        }
    }

    /**
     * A crash anywhere in a result write followed by a power cut never leaves a torn entry that
     * would fail every later start: the next JobManager reads the results (with or without it).
     */
    @ParameterizedTest
    @EnumSource(WriteStep.class)
    void crashDuringResultWriteNeverLeavesATornEntry(WriteStep crashAt) throws Exception {
        TestingPowerCutFileIo power = new TestingPowerCutFileIo(tmp);
        JobID earlier = new JobID();
        JobID job = new JobID();
        FaultSeam crash = (step, target) -> {
            if (step == crashAt && target.getFileName().toString().startsWith(job.toString())) {
                throw new PvcTestFixture.SimulatedCrash(step);
            }
        };
        try (PvcHaServices s = services(new DurableFiles(crash, power), Executors.directExecutor())) {
            LeadershipLock lock = lead(s);
            s.getJobResultStore().createDirtyResultAsync(result(earlier)).get();
            CompletableFuture<Void> f = new CompletableFuture<>();
            try {
                s.getJobResultStore().createDirtyResultAsync(result(job)).whenComplete((v, t) -> f.complete(null));
            } catch (PvcTestFixture.SimulatedCrash expected) {
                // the direct executor ran the write on this thread
            }
            lock.close();
        }
        power.powerCut();
        try (PvcHaServices s = services(new DurableFiles(NioFileIo.INSTANCE), Executors.directExecutor())) {
            lead(s);
            List<JobID> ids = new ArrayList<>();
            s.getJobResultStore().getDirtyResults().forEach(r -> ids.add(r.getJobId()));
            assertThat(ids).contains(earlier);
            if (crashAt == WriteStep.DIRECTORY_FSYNCED) {
                assertThat(ids).contains(job);
            }
        }
        try (Stream<Path> files = Files.list(resultDir())) {
            files.filter(Files::isRegularFile)
                    .filter(p -> p.getFileName().toString().endsWith(".json"))
                    .forEach(p -> assertThat(p.toFile().length()).as("torn entry %s", p).isPositive());
        }
    }

    /**
     * The check happens when the write commits, on the thread that writes: leadership lost
     * between the call and the write on the ioExecutor refuses the write.
     */
    @Test
    void resultWriteIsFencedAtTheMomentItCommits() throws Exception {
        List<Runnable> queued = new ArrayList<>();
        try (PvcHaServices s = services(new DurableFiles(), queued::add)) {
            LeadershipLock lock = lead(s);
            JobID job = new JobID();
            CompletableFuture<Void> write = s.getJobResultStore().createDirtyResultAsync(result(job));
            assertThat(write).isNotDone();
            lock.close(); // leadership lost before the ioExecutor gets to the write
            new ArrayList<>(queued).forEach(Runnable::run);
            assertThatThrownBy(write::get).isInstanceOf(ExecutionException.class).hasCauseInstanceOf(FencedException.class);
            assertThat(resultDir().resolve(job + "_DIRTY.json")).doesNotExist();
        }
    }

    /** No epoch held (a standby or a TaskManager): a full cleanup is refused and deletes nothing. */
    @Test
    void cleanupWithoutLeadershipIsRefused() throws Exception {
        try (PvcHaServices s = services(new DurableFiles(), Executors.directExecutor())) {
            Path leaderFile = s.layout().leaders().resolve("dispatcher");
            Files.createDirectories(leaderFile.getParent());
            Files.writeString(leaderFile, "someone else's");
            assertThatThrownBy(s::cleanupAllData).isNotNull();
            assertThat(leaderFile).exists();
        }
    }

    /** Leadership lost in the middle of a recursive delete stops it at the next entry. */
    @Test
    void recursiveCleanupStopsWhenLeadershipIsLost() throws Exception {
        AtomicInteger deletes = new AtomicInteger();
        List<LeadershipLock> held = new ArrayList<>();
        FileIo losesLockAfterTwoDeletes = new ForwardingFileIo(NioFileIo.INSTANCE) {
            @Override
            public boolean delete(Path path) throws IOException {
                boolean d = super.delete(path);
                if (deletes.incrementAndGet() == 2) {
                    held.forEach(LeadershipLock::close);
                }
                return d;
            }
        };
        try (PvcHaServices s = services(new DurableFiles(losesLockAfterTwoDeletes), Executors.directExecutor())) {
            held.add(lead(s));
            Path job = s.layout().job(new JobID().toHexString());
            Files.createDirectories(job);
            for (int i = 0; i < 5; i++) {
                Files.writeString(job.resolve("f" + i), "x");
            }
            assertThatThrownBy(s::cleanupAllData).isNotNull();
            try (Stream<Path> left = Files.list(job)) {
                assertThat(left).hasSize(3);
            }
        }
    }

    /** Forwards every operation; tests override one. */
}
