package io.flinkfleet.ha.${flinkfleet.adapter.package};

import org.apache.flink.api.common.JobID;
import org.apache.flink.runtime.highavailability.FileSystemJobResultStore;
import org.apache.flink.runtime.highavailability.JobResultEntry;
import org.apache.flink.runtime.highavailability.JobResultStore;
import org.apache.flink.runtime.jobmaster.JobResult;
import org.apache.flink.util.Preconditions;

import java.io.IOException;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * Flink's {@code FileSystemJobResultStore} for reads; writes are crash-atomic and fenced at the
 * moment they commit (see {@link ResultStoreDurability}).
 */
final class FencedJobResultStore implements JobResultStore {
    private final JobResultStore delegate;
    private final FileSystemJobResultStore staging;
    private final ResultStoreDurability durability;

    /**
     * @param delegate Flink's store on the base directory (reads, and writes when not local)
     * @param staging Flink's store on {@link ResultStoreDurability#stagingDir()}, used only to
     *     serialize entries; null when the base is not local
     */
    FencedJobResultStore(JobResultStore delegate, FileSystemJobResultStore staging,
            ResultStoreDurability durability) {
        this.delegate = Preconditions.checkNotNull(delegate);
        this.staging = staging;
        this.durability = Preconditions.checkNotNull(durability);
        Preconditions.checkArgument(!durability.isLocal() || staging != null, "a local result store needs staging");
    }

    @Override
    public CompletableFuture<Void> createDirtyResultAsync(JobResultEntry entry) {
        return durability.createDirtyAsync(entry.getJobId().toString(),
                ignored -> staging.createDirtyResultInternal(entry), () -> delegate.createDirtyResultAsync(entry));
    }

    @Override
    public CompletableFuture<Void> markResultAsCleanAsync(JobID jobId) {
        return durability.markCleanAsync(jobId.toString(), () -> delegate.markResultAsCleanAsync(jobId));
    }

    @Override
    public CompletableFuture<Boolean> hasJobResultEntryAsync(JobID jobId) {
        return delegate.hasJobResultEntryAsync(jobId);
    }

    @Override
    public CompletableFuture<Boolean> hasDirtyJobResultEntryAsync(JobID jobId) {
        return delegate.hasDirtyJobResultEntryAsync(jobId);
    }

    @Override
    public CompletableFuture<Boolean> hasCleanJobResultEntryAsync(JobID jobId) {
        return delegate.hasCleanJobResultEntryAsync(jobId);
    }

    @Override
    public Set<JobResult> getDirtyResults() throws IOException {
        return delegate.getDirtyResults();
    }
}
