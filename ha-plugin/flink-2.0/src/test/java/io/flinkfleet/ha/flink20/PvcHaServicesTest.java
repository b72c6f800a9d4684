package io.flinkfleet.ha.flink20;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flinkfleet.ha.core.FencedException;

import org.apache.flink.api.common.JobID;
import org.apache.flink.runtime.clusterframework.ApplicationStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.HighAvailabilityOptions;
import org.apache.flink.configuration.IllegalConfigurationException;
import org.apache.flink.runtime.highavailability.ClientHighAvailabilityServices;
import org.apache.flink.runtime.highavailability.JobResultEntry;
import org.apache.flink.runtime.highavailability.JobResultStore;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.jobmanager.ExecutionPlanStore;
import org.apache.flink.runtime.jobmaster.JobResult;
import org.apache.flink.runtime.leaderretrieval.DefaultLeaderRetrievalService;
import org.apache.flink.util.concurrent.Executors;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PvcHaServicesTest {
    @TempDir Path tmp;

    private Configuration config() {
        Configuration c = new Configuration();
        c.set(HighAvailabilityOptions.HA_MODE, PvcHaServicesFactory.class.getName());
        c.set(HighAvailabilityOptions.HA_STORAGE_PATH, tmp.resolve("storage").toUri().toString());
        c.set(HighAvailabilityOptions.HA_CLUSTER_ID, "cluster-a");
        c.set(org.apache.flink.configuration.RestOptions.ADDRESS, "localhost");
        return c;
    }

    private PvcHaServices jobManager(Configuration c) throws Exception {
        PvcHaServices s = (PvcHaServices) new PvcHaServicesFactory().createHAServices(c, Executors.directExecutor());
        s.epochFence().acquire(); // what the leader election driver does in a JobManager
        return s;
    }

    @Test
    void defaultRootIsUnderTheClusterStorageDirAndNothingIsCreatedUpFront() throws Exception {
        Configuration c = config();
        try (PvcHaServices s = (PvcHaServices) new PvcHaServicesFactory().createHAServices(c, Executors.directExecutor());
                ClientHighAvailabilityServices client = new PvcHaServicesFactory().createClientHAServices(c)) {
            assertThat(s.layout().root()).isEqualTo(tmp.resolve("storage/cluster-a/pvc-ha"));
            assertThat(s.layout().root()).doesNotExist();
            assertThat(s.layout().epochs()).doesNotExist();
        }
    }

    @Test
    void explicitPathAndClientDiscovery() throws Exception {
        Configuration c = config();
        c.set(PvcHaOptions.PATH, tmp.resolve("meta").toString());
        c.set(PvcHaOptions.CLIENT_DISCOVERY, "volume");
        try (ClientHighAvailabilityServices client = new PvcHaServicesFactory().createClientHAServices(c)) {
            assertThat(client).isInstanceOf(PvcClientHaServices.class);
            assertThat(client.getClusterRestEndpointLeaderRetriever()).isInstanceOf(DefaultLeaderRetrievalService.class);
        }
        c.set(PvcHaOptions.CLIENT_DISCOVERY, "auto"); // nothing on the volume yet → rest.address
        try (ClientHighAvailabilityServices client = new PvcHaServicesFactory().createClientHAServices(c)) {
            assertThat(client).isNotInstanceOf(PvcClientHaServices.class);
        }
    }

    @Test
    void rejectsRemoteMetadataRootAndUnknownMode() {
        Configuration remote = config();
        remote.set(PvcHaOptions.PATH, "s3://bucket/ha");
        assertThatThrownBy(() -> new PvcHaServicesFactory().createHAServices(remote, Executors.directExecutor()))
                .isInstanceOf(IllegalConfigurationException.class).hasMessageContaining("local path");
        Configuration standby = config();
        standby.set(PvcHaOptions.MODE, "standby");
        assertThatThrownBy(() -> new PvcHaServicesFactory().createHAServices(standby, Executors.directExecutor()))
                .isInstanceOf(IllegalConfigurationException.class);
    }

    /** A globally terminal result, once written, is there after any restart (FLINK-39704). */
    @Test
    void terminalJobResultSurvivesRestartsAndIsRetainedAfterCleanup() throws Exception {
        JobID job = new JobID();
        JobResult result = new JobResult.Builder().jobId(job).applicationStatus(ApplicationStatus.SUCCEEDED).netRuntime(1).build();
        try (PvcHaServices first = jobManager(config())) {
            first.getJobResultStore().createDirtyResultAsync(new JobResultEntry(result)).get();
        }
        try (PvcHaServices second = jobManager(config())) {
            JobResultStore jrs = second.getJobResultStore();
            assertThat(jrs.getDirtyResults()).extracting(JobResult::getJobId).containsExactly(job);
            jrs.markResultAsCleanAsync(job).get();
        }
        try (PvcHaServices third = jobManager(config())) {
            assertThat(third.getJobResultStore().hasJobResultEntryAsync(job).get()).isTrue();
            assertThat(third.getJobResultStore().hasCleanJobResultEntryAsync(job).get()).isTrue();
        }
    }

    @Test
    void fencedJobManagerCannotWriteResults() throws Exception {
        try (PvcHaServices old = jobManager(config()); PvcHaServices newer = jobManager(config())) {
            JobResult r = new JobResult.Builder().jobId(new JobID()).applicationStatus(ApplicationStatus.FAILED).netRuntime(1).build();
            assertThatThrownBy(() -> old.getJobResultStore().createDirtyResultAsync(new JobResultEntry(r)).get())
                    .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(FencedException.class);
            assertThat(newer.getJobResultStore().getDirtyResults()).isEmpty();
        }
    }

    @Test
    void executionPlansAreRecoveredAfterRestartAndRemovedOnCleanup() throws Exception {
        JobID job = new JobID();
        try (PvcHaServices first = jobManager(config())) {
            ExecutionPlanStore store = first.getExecutionPlanStore();
            store.start(NO_LISTENER);
            store.putExecutionPlan(new JobGraph(job, "my-job"));
        }
        try (PvcHaServices second = jobManager(config())) {
            ExecutionPlanStore store = second.getExecutionPlanStore();
            store.start(NO_LISTENER);
            assertThat(store.getJobIds()).containsExactly(job);
            assertThat(store.recoverExecutionPlan(job).getName()).isEqualTo("my-job");
            store.globalCleanupAsync(job, Executors.directExecutor()).get();
            assertThat(store.getJobIds()).isEmpty();
        }
    }

    @Test
    void cleanupAllDataKeepsEpochs() throws Exception {
        try (PvcHaServices s = jobManager(config())) {
            ExecutionPlanStore store = s.getExecutionPlanStore();
            store.start(NO_LISTENER);
            store.putExecutionPlan(new JobGraph(new JobID(), "a"));
            s.cleanupAllData();
            assertThat(s.layout().executionPlans()).doesNotExist();
            assertThat(Files.list(s.layout().epochs())).hasSize(1);
        }
    }

    /**
     * Flink closes the leader election driver when the last contender leaves, then cleans up the
     * HA data: the JobManager still leads then (the lock outlives the driver), so the cleanup runs;
     * leadership ends when the services close, and another JobManager gets the lock.
     */
    @Test
    void leadershipLastsUntilTheServicesCloseSoShutdownCleanupRuns() throws Exception {
        PvcHaServices s = (PvcHaServices) new PvcHaServicesFactory().createHAServices(config(), Executors.directExecutor());
        java.util.concurrent.BlockingQueue<java.util.UUID> granted = new java.util.concurrent.LinkedBlockingQueue<>();
        org.apache.flink.runtime.leaderelection.LeaderElection election = s.getDispatcherLeaderElection();
        election.startLeaderElection(new org.apache.flink.runtime.leaderelection.LeaderContender() {
            @Override
            public void grantLeadership(java.util.UUID session) {
                granted.add(session);
            }

            @Override
            public void revokeLeadership() {}

            @Override
            public void handleError(Exception e) {}
        });
        java.util.UUID session = granted.poll(60, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(session).isNotNull();
        election.confirmLeadershipAsync(session, "pekko://dispatcher").get();
        ExecutionPlanStore store = s.getExecutionPlanStore();
        store.start(NO_LISTENER);
        store.putExecutionPlan(new JobGraph(new JobID(), "a"));

        election.close(); // the last contender leaves: Flink closes the driver
        s.closeWithOptionalClean(true); // cleanupAllData as the leader, then close
        assertThat(s.layout().executionPlans()).doesNotExist();

        io.flinkfleet.ha.core.LeadershipLock next = new io.flinkfleet.ha.core.LeadershipLock(s.layout().lockFile());
        try {
            java.util.concurrent.CompletableFuture.runAsync(() -> {
                try {
                    next.acquire();
                } catch (Exception e) {
                    throw new java.util.concurrent.CompletionException(e);
                }
            }).get(60, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(next.isHeld()).isTrue();
        } finally {
            next.close();
        }
    }

    private static final ExecutionPlanStore.ExecutionPlanListener NO_LISTENER = new ExecutionPlanStore.ExecutionPlanListener() {
        @Override
        public void onAddedExecutionPlan(JobID jobId) {}

        @Override
        public void onRemovedExecutionPlan(JobID jobId) {}
    };
}
