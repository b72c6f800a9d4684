package io.flinkfleet.ha.flink23;

import org.apache.flink.api.common.JobID;
import org.apache.flink.runtime.highavailability.JobResultEntry;
import org.apache.flink.runtime.highavailability.JobResultStore;
import org.apache.flink.runtime.jobmaster.JobResult;

import java.io.IOException;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/** Flink's {@code FileSystemJobResultStore}, fenced by epoch and made durable. */
final class FencedJobResultStore implements JobResultStore {
    private final JobResultStore delegate;
    private final ResultStoreDurability durability;

    FencedJobResultStore(JobResultStore delegate, ResultStoreDurability durability) {
        this.delegate = delegate;
        this.durability = durability;
    }

    @Override
    public CompletableFuture<Void> createDirtyResultAsync(JobResultEntry entry) {
        try {
            durability.checkNotFenced();
        } catch (IOException e) {
            return CompletableFuture.failedFuture(e);
        }
        return delegate.createDirtyResultAsync(entry)
                .thenRun(() -> durability.syncEntry(entry.getJobId().toString()));
    }

    @Override
    public CompletableFuture<Void> markResultAsCleanAsync(JobID jobId) {
        try {
            durability.checkNotFenced();
        } catch (IOException e) {
            return CompletableFuture.failedFuture(e);
        }
        return delegate.markResultAsCleanAsync(jobId).thenRun(() -> durability.syncEntry(jobId.toString()));
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
