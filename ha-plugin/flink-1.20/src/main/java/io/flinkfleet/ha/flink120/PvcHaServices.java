package io.flinkfleet.ha.flink120;

import io.flinkfleet.ha.core.DurableFiles;
import io.flinkfleet.ha.core.EpochFence;
import io.flinkfleet.ha.core.FileRecordStore;
import io.flinkfleet.ha.core.PvcHaLayout;

import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.HighAvailabilityOptions;
import org.apache.flink.runtime.blob.BlobStoreService;
import org.apache.flink.runtime.checkpoint.CheckpointRecoveryFactory;
import org.apache.flink.runtime.highavailability.AbstractHaServices;
import org.apache.flink.runtime.highavailability.FileSystemJobResultStore;
import org.apache.flink.runtime.highavailability.HighAvailabilityServicesUtils;
import org.apache.flink.runtime.highavailability.JobResultStoreOptions;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.jobmanager.DefaultJobGraphStore;
import org.apache.flink.runtime.jobmanager.JobGraphStore;
import org.apache.flink.runtime.jobmanager.NoOpJobGraphStoreWatcher;
import org.apache.flink.runtime.leaderretrieval.DefaultLeaderRetrievalService;
import org.apache.flink.runtime.leaderretrieval.LeaderRetrievalService;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Executor;

/**
 * High-availability services on a mounted volume for Flink 1.20 (job graphs, no application
 * stores): wiring only. Flink's Default* services and
 * stores do the work; we supply the leader election/retrieval drivers and file pointer stores.
 * The storage layout is documented on {@link PvcHaLayout}.
 *
 * <p>Nothing touches the disk here: the epoch is taken when the JobManager's leader election
 * driver is created, and stores are created only after leadership was granted.
 */
public class PvcHaServices extends AbstractHaServices {
    static final String RESOURCE_MANAGER = "resource_manager";
    static final String DISPATCHER = "dispatcher";
    static final String REST_SERVER = "rest_server";
    static final String JOB_PREFIX = "job-";
    // Flink 1.x's own name for the state file of a submitted job graph.
    static final String JOB_GRAPH_PREFIX = "submittedJobGraph";

    private final PvcHaLayout layout;
    private final EpochFence fence;
    private final DurableFiles files;
    private final Duration pollInterval;
    private final PvcLeaderElectionDriverFactory driverFactory;

    public static PvcHaServices create(
            Configuration config, Executor ioExecutor, BlobStoreService blobStore, DurableFiles files) throws IOException {
        PvcHaUtils.checkMode(config);
        PvcHaLayout layout = PvcHaUtils.layout(config);
        Duration poll = PvcHaUtils.pollInterval(config);
        EpochFence fence = new EpochFence(layout.epochs(), files);
        Configuration effective = withResultRetention(config);
        Optional<Path> jobBase = PvcHaUtils.localPath(jobResultStorePath(effective));
        ResultStoreDurability jobResults = new ResultStoreDurability(fence, files, jobBase,
                effective.get(JobResultStoreOptions.DELETE_ON_COMMIT), ioExecutor);
        FileSystemJobResultStore jobStaging = null;
        if (jobBase.isPresent()) {
            Configuration c = new Configuration(effective);
            c.set(JobResultStoreOptions.STORAGE_PATH, jobResults.stagingDir().toUri().toString());
            jobStaging = FileSystemJobResultStore.fromConfiguration(c, ioExecutor);
        }
        PvcLeaderElectionDriverFactory driverFactory = new PvcLeaderElectionDriverFactory(layout, fence, files, poll,
                effective.get(PvcHaOptions.LEADER_SERVER_PORT), leaderServerBindHost(effective),
                effective.get(PvcHaOptions.METRICS_PORT));
        return new PvcHaServices(effective, ioExecutor, blobStore, layout, fence, files, poll, driverFactory,
                new FencedJobResultStore(FileSystemJobResultStore.fromConfiguration(effective, ioExecutor), jobStaging,
                        jobResults));
    }

    private PvcHaServices(
            Configuration config,
            Executor ioExecutor,
            BlobStoreService blobStore,
            PvcHaLayout layout,
            EpochFence fence,
            DurableFiles files,
            Duration pollInterval,
            PvcLeaderElectionDriverFactory driverFactory,
            FencedJobResultStore jobResultStore) {
        super(config, driverFactory, ioExecutor, blobStore, jobResultStore);
        this.driverFactory = driverFactory;
        this.layout = layout;
        this.fence = fence;
        this.files = files;
        this.pollInterval = pollInterval;
    }

    /**
     * Keeps clean job results unless the user chose otherwise: a globally terminal
     * result must survive JobManager restarts, or an application-mode job with a fixed id would
     * run again after its result was deleted (compare FLINK-39704).
     */
    static Configuration withResultRetention(Configuration config) {
        Configuration c = new Configuration(config);
        if (!config.contains(JobResultStoreOptions.DELETE_ON_COMMIT)) {
            c.set(JobResultStoreOptions.DELETE_ON_COMMIT, false);
        }
        return c;
    }

    static String jobResultStorePath(Configuration c) {
        String p = c.get(JobResultStoreOptions.STORAGE_PATH);
        return p == null || p.isBlank()
                ? FileSystemJobResultStore.createDefaultJobResultStorePath(
                        c.get(HighAvailabilityOptions.HA_STORAGE_PATH), c.get(HighAvailabilityOptions.HA_CLUSTER_ID))
                : p;
    }

    private static String leaderServerBindHost(Configuration config) {
        return config.getOptional(org.apache.flink.configuration.JobManagerOptions.BIND_HOST).orElse("0.0.0.0");
    }

    public PvcHaLayout layout() {
        return layout;
    }

    @org.apache.flink.annotation.VisibleForTesting
    EpochFence epochFence() {
        return fence;
    }

    @Override
    protected LeaderRetrievalService createLeaderRetrievalService(String componentId) {
        return new DefaultLeaderRetrievalService(new PvcLeaderRetrievalDriverFactory(
                () -> PvcHaUtils.leaderSource(configuration, layout), componentId, pollInterval));
    }

    @Override
    protected CheckpointRecoveryFactory createCheckpointRecoveryFactory() {
        return new PvcCheckpointRecoveryFactory(layout, fence, files,
                HighAvailabilityServicesUtils.getClusterHighAvailableStoragePath(configuration), inlineLimit(), ioExecutor);
    }

    @Override
    protected JobGraphStore createJobGraphStore() {
        // The directory 2.x names execution-plans/: one layout for every adapter, so the
        // inspect tool and the cleanup below need no version switch.
        return new DefaultJobGraphStore<>(
                new PvcStateHandleStore<JobGraph>(
                        new FileRecordStore(layout.executionPlans(), fence, files),
                        new DurableStateStorageHelper<>(storagePath(), JOB_GRAPH_PREFIX, inlineLimit(), files)),
                NoOpJobGraphStoreWatcher.INSTANCE,
                PvcJobGraphStoreUtil.INSTANCE);
    }

    private long inlineLimit() {
        return configuration.get(PvcHaOptions.INLINE_STATE_LIMIT).getBytes();
    }

    private org.apache.flink.core.fs.Path storagePath() {
        return HighAvailabilityServicesUtils.getClusterHighAvailableStoragePath(configuration);
    }

    @Override
    protected void internalClose() {
        // Drivers own their threads and are closed by the Default* services; leadership (the
        // lock) ends here, after Flink's cleanupAllData, which runs as the leader.
        driverFactory.releaseLock();
    }

    /**
     * Removes all metadata except the epochs: deleting those would let a zombie JobManager
     * with an old epoch believe it is the newest again.
     */
    @Override
    protected void internalCleanup() throws Exception {
        // Refused without leadership: no epoch held, lock lost or a newer epoch (throws).
        fence.checkNotFenced();
        Path root = layout.root();
        if (!Files.isDirectory(root)) {
            return;
        }
        for (Path p : new Path[] {layout.leaders(), layout.executionPlans(), layout.jobs()}) {
            // Checked before every single unlink, not once for the whole tree.
            files.deleteTreeDurably(p, fence);
        }
    }

    @Override
    protected void internalCleanupJobData(JobID jobID) throws Exception {
        fence.checkNotFenced();
        files.deleteTreeDurably(layout.job(jobID.toHexString()), fence);
        // Only this epoch's leader file; see PvcLeaderElectionDriver#deleteLeaderInformation.
        new PvcLeaderElectionDriverDeleter(new FileRecordStore(layout.leaders(), fence, files), fence)
                .deleteOwn(getLeaderPathForJobManager(jobID));
    }

    @Override
    protected String getLeaderPathForResourceManager() {
        return RESOURCE_MANAGER;
    }

    @Override
    protected String getLeaderPathForDispatcher() {
        return DISPATCHER;
    }

    @Override
    protected String getLeaderPathForJobManager(JobID jobID) {
        return JOB_PREFIX + jobID.toHexString();
    }

    @Override
    protected String getLeaderPathForRestServer() {
        return REST_SERVER;
    }

    @Override
    public String toString() {
        return "PvcHaServices{" + layout.root() + "}";
    }
}
