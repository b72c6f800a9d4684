package io.flinkfleet.ha.flink23;

import org.apache.flink.api.common.ApplicationID;
import org.apache.flink.runtime.highavailability.ApplicationResult;
import org.apache.flink.runtime.highavailability.ApplicationResultEntry;
import org.apache.flink.runtime.highavailability.ApplicationResultStore;

import java.io.IOException;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/** Flink's {@code FileSystemApplicationResultStore}, fenced by epoch and made durable. */
final class FencedApplicationResultStore implements ApplicationResultStore {
    private final ApplicationResultStore delegate;
    private final ResultStoreDurability durability;

    FencedApplicationResultStore(ApplicationResultStore delegate, ResultStoreDurability durability) {
        this.delegate = delegate;
        this.durability = durability;
    }

    @Override
    public CompletableFuture<Void> createDirtyResultAsync(ApplicationResultEntry entry) {
        try {
            durability.checkNotFenced();
        } catch (IOException e) {
            return CompletableFuture.failedFuture(e);
        }
        return delegate.createDirtyResultAsync(entry)
                .thenRun(() -> durability.syncEntry(entry.getApplicationId().toString()));
    }

    @Override
    public CompletableFuture<Void> markResultAsCleanAsync(ApplicationID applicationId) {
        try {
            durability.checkNotFenced();
        } catch (IOException e) {
            return CompletableFuture.failedFuture(e);
        }
        return delegate.markResultAsCleanAsync(applicationId)
                .thenRun(() -> durability.syncEntry(applicationId.toString()));
    }

    @Override
    public CompletableFuture<Boolean> hasApplicationResultEntryAsync(ApplicationID applicationId) {
        return delegate.hasApplicationResultEntryAsync(applicationId);
    }

    @Override
    public CompletableFuture<Boolean> hasDirtyApplicationResultEntryAsync(ApplicationID applicationId) {
        return delegate.hasDirtyApplicationResultEntryAsync(applicationId);
    }

    @Override
    public CompletableFuture<Boolean> hasCleanApplicationResultEntryAsync(ApplicationID applicationId) {
        return delegate.hasCleanApplicationResultEntryAsync(applicationId);
    }

    @Override
    public Set<ApplicationResult> getDirtyResults() throws IOException {
        return delegate.getDirtyResults();
    }

    @Override
    public CompletableFuture<ApplicationResult> getCleanApplicationResultAsync(ApplicationID applicationId) {
        return delegate.getCleanApplicationResultAsync(applicationId);
    }
}
