package io.flinkfleet.ha.flink23;

import org.apache.flink.api.common.ApplicationID;
import org.apache.flink.runtime.highavailability.FileSystemApplicationResultStore;
import org.apache.flink.runtime.highavailability.ApplicationResultEntry;
import org.apache.flink.runtime.highavailability.ApplicationResultStore;
import org.apache.flink.runtime.highavailability.ApplicationResult;
import org.apache.flink.util.Preconditions;

import java.io.IOException;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * Flink's {@code FileSystemApplicationResultStore} for reads; writes are crash-atomic and fenced at the
 * moment they commit (see {@link ResultStoreDurability}).
 */
final class FencedApplicationResultStore implements ApplicationResultStore {
    private final ApplicationResultStore delegate;
    private final FileSystemApplicationResultStore staging;
    private final ResultStoreDurability durability;

    /**
     * @param delegate Flink's store on the base directory (reads, and writes when not local)
     * @param staging Flink's store on {@link ResultStoreDurability#stagingDir()}, used only to
     *     serialize entries; null when the base is not local
     */
    FencedApplicationResultStore(ApplicationResultStore delegate, FileSystemApplicationResultStore staging,
            ResultStoreDurability durability) {
        this.delegate = Preconditions.checkNotNull(delegate);
        this.staging = staging;
        this.durability = Preconditions.checkNotNull(durability);
        Preconditions.checkArgument(!durability.isLocal() || staging != null, "a local result store needs staging");
    }

    @Override
    public CompletableFuture<Void> createDirtyResultAsync(ApplicationResultEntry entry) {
        return durability.createDirtyAsync(entry.getApplicationId().toString(),
                ignored -> staging.createDirtyResultInternal(entry), () -> delegate.createDirtyResultAsync(entry));
    }

    @Override
    public CompletableFuture<Void> markResultAsCleanAsync(ApplicationID applicationId) {
        return durability.markCleanAsync(applicationId.toString(), () -> delegate.markResultAsCleanAsync(applicationId));
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
