package io.flinkfleet.ha.flink23;

import org.apache.flink.api.common.JobID;
import org.apache.flink.runtime.highavailability.FileSystemJobResultStore;
import org.apache.flink.runtime.highavailability.JobResultEntry;
import org.apache.flink.runtime.highavailability.JobResultStore;
import org.apache.flink.runtime.jobmaster.JobResult;
import org.apache.flink.util.Preconditions;
import org.apache.flink.util.function.ThrowingRunnable;

import java.io.IOException;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * Flink's {@code FileSystemJobResultStore} for reads; writes are crash-atomic and fenced at the
 * moment they commit (see {@link ResultStoreDurability}).
 */
final class FencedJobResultStore implements JobResultStore {
    private final JobResultStore delegate;
    private final FileSystemJobResultStore staging;
    private final ResultStoreDurability durability;
    private final Executor ioExecutor;

    /**
     * @param delegate Flink's store on the base directory (reads, and writes when not local)
     * @param staging Flink's store on {@link ResultStoreDurability#stagingDir()}, used only to
     *     serialize entries; null when the base is not local
     */
    FencedJobResultStore(JobResultStore delegate, FileSystemJobResultStore staging, ResultStoreDurability durability,
            Executor ioExecutor) {
        this.delegate = Preconditions.checkNotNull(delegate);
        this.staging = staging;
        this.durability = Preconditions.checkNotNull(durability);
        this.ioExecutor = Preconditions.checkNotNull(ioExecutor);
        Preconditions.checkArgument(!durability.isLocal() || staging != null, "a local result store needs staging");
    }

    @Override
    public CompletableFuture<Void> createDirtyResultAsync(JobResultEntry entry) {
        if (!durability.isLocal()) {
            return checkedThen(() -> delegate.createDirtyResultAsync(entry));
        }
        return run(() -> durability.createDirty(entry.getJobId().toString(),
                ignored -> staging.createDirtyResultInternal(entry)));
    }

    @Override
    public CompletableFuture<Void> markResultAsCleanAsync(JobID jobId) {
        if (!durability.isLocal()) {
            return checkedThen(() -> delegate.markResultAsCleanAsync(jobId));
        }
        return run(() -> durability.markClean(jobId.toString()));
    }

    private CompletableFuture<Void> run(ThrowingRunnable<IOException> write) {
        return CompletableFuture.runAsync(() -> {
            try {
                write.run();
            } catch (IOException e) {
                throw new java.util.concurrent.CompletionException(e);
            }
        }, ioExecutor);
    }

    private CompletableFuture<Void> checkedThen(java.util.function.Supplier<CompletableFuture<Void>> write) {
        try {
            durability.checkNotFenced();
        } catch (IOException e) {
            return CompletableFuture.failedFuture(e);
        }
        return write.get();
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
