package io.flinkfleet.ha.flink20;

import io.flinkfleet.ha.core.DurableCounter;
import io.flinkfleet.ha.core.DurableFiles;
import io.flinkfleet.ha.core.EpochFence;
import io.flinkfleet.ha.core.FileRecordStore;
import io.flinkfleet.ha.core.PvcHaLayout;

import org.apache.flink.api.common.JobID;
import org.apache.flink.core.execution.RecoveryClaimMode;
import org.apache.flink.runtime.checkpoint.CheckpointIDCounter;
import org.apache.flink.runtime.checkpoint.CheckpointRecoveryFactory;
import org.apache.flink.runtime.checkpoint.CompletedCheckpoint;
import org.apache.flink.runtime.checkpoint.CompletedCheckpointStore;
import org.apache.flink.runtime.checkpoint.DefaultCompletedCheckpointStore;
import org.apache.flink.runtime.checkpoint.DefaultCompletedCheckpointStoreUtils;
import org.apache.flink.runtime.state.SharedStateRegistryFactory;

import java.util.Collection;
import java.util.concurrent.Executor;

/**
 * Flink's {@link DefaultCompletedCheckpointStore} over {@link PvcStateHandleStore} pointers in
 * {@code jobs/<job-id>/checkpoints/}, plus the {@link PvcCheckpointIDCounter}. Retention
 * ({@code state.checkpoints.num-retained}) and subsumption are Flink's; recovery reads all
 * pointers in checkpoint-id order and fails on any unreadable one.
 */
public class PvcCheckpointRecoveryFactory implements CheckpointRecoveryFactory {
    static final String COMPLETED_CHECKPOINT_PREFIX = "completedCheckpoint";

    private final PvcHaLayout layout;
    private final EpochFence fence;
    private final DurableFiles files;
    private final org.apache.flink.core.fs.Path storagePath;
    private final long inlineLimit;
    private final Executor executor;

    public PvcCheckpointRecoveryFactory(
            PvcHaLayout layout,
            EpochFence fence,
            DurableFiles files,
            org.apache.flink.core.fs.Path storagePath,
            long inlineLimit,
            Executor executor) {
        this.layout = layout;
        this.fence = fence;
        this.files = files;
        this.storagePath = storagePath;
        this.inlineLimit = inlineLimit;
        this.executor = executor;
    }

    @Override
    public CompletedCheckpointStore createRecoveredCompletedCheckpointStore(
            JobID jobId,
            int maxNumberOfCheckpointsToRetain,
            SharedStateRegistryFactory sharedStateRegistryFactory,
            Executor ioExecutor,
            RecoveryClaimMode recoveryClaimMode)
            throws Exception {
        PvcStateHandleStore<CompletedCheckpoint> store = new PvcStateHandleStore<>(
                new FileRecordStore(layout.checkpoints(jobId.toHexString()), fence, files),
                new DurableStateStorageHelper<>(storagePath, COMPLETED_CHECKPOINT_PREFIX, inlineLimit, files),
                name -> PvcHaLayout.checkpointId(name) >= 0);
        Collection<CompletedCheckpoint> checkpoints =
                DefaultCompletedCheckpointStoreUtils.retrieveCompletedCheckpoints(store, PvcCheckpointStoreUtil.INSTANCE);
        return new DefaultCompletedCheckpointStore<>(
                maxNumberOfCheckpointsToRetain,
                store,
                PvcCheckpointStoreUtil.INSTANCE,
                checkpoints,
                sharedStateRegistryFactory.create(ioExecutor, checkpoints, recoveryClaimMode),
                executor);
    }

    @Override
    public CheckpointIDCounter createCheckpointIDCounter(JobID jobId) {
        return new PvcCheckpointIDCounter(new DurableCounter(
                new FileRecordStore(layout.job(jobId.toHexString()), fence, files),
                PvcHaLayout.CHECKPOINT_COUNTER,
                CheckpointIDCounter.INITIAL_CHECKPOINT_ID));
    }
}
