package io.flinkfleet.ha.${flinkfleet.adapter.package};

import io.flinkfleet.ha.core.DurableFiles;
import io.flinkfleet.ha.core.EpochFence;

import org.apache.flink.util.Preconditions;
import org.apache.flink.util.function.ThrowingConsumer;
import org.apache.flink.util.function.ThrowingRunnable;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

/**
 * What the result-store decorators do instead of Flink's in-place writes: Flink's file-based
 * result stores write {@code <id>_DIRTY.json} in place, so a crash can leave a torn file that
 * fails every later start. Here Flink's store only serializes the entry, into a staging
 * directory ({@code <base>/.staging}, a directory Flink's listing skips); the bytes are then
 * committed with {@link DurableFiles#writeAtomically} (temp → fsync → rename → directory fsync)
 * with the fence (leadership lock + epoch) checked right before the rename, on the thread that
 * writes. Marking clean is a fenced, durable rename (or delete with delete-on-commit).
 *
 * <p>A non-local base (e.g. {@code s3://}) is left to Flink's store, checked before the write.
 *
 * <p>The job and the application result store decorators differ only in their entry types, so
 * the choice between the two write paths lives here, once ({@link #createDirtyAsync},
 * {@link #markCleanAsync}).
 */
final class ResultStoreDurability {
    static final String DIRTY_SUFFIX = "_DIRTY.json";
    static final String CLEAN_SUFFIX = ".json";
    static final String STAGING = ".staging";

    private final EpochFence fence;
    private final DurableFiles files;
    private final Optional<Path> localBase;
    private final boolean deleteOnCommit;
    private final Executor ioExecutor;
    // @GuardedBy("this")
    private boolean ancestorsSynced;

    /** @param ioExecutor runs our local writes (never the caller's thread: Flink calls from its main thread) */
    ResultStoreDurability(EpochFence fence, DurableFiles files, Optional<Path> localBase, boolean deleteOnCommit,
            Executor ioExecutor) {
        this.fence = Preconditions.checkNotNull(fence);
        this.files = Preconditions.checkNotNull(files);
        this.localBase = Preconditions.checkNotNull(localBase);
        this.deleteOnCommit = deleteOnCommit;
        this.ioExecutor = Preconditions.checkNotNull(ioExecutor);
    }

    boolean isLocal() {
        return localBase.isPresent();
    }

    Path stagingDir() {
        return localBase.orElseThrow().resolve(STAGING);
    }

    /**
     * Writes a dirty entry: locally through {@link #createDirty} on the I/O executor (fenced at
     * the rename); otherwise through {@code flinkWrite} (Flink's store) after a fence check.
     */
    CompletableFuture<Void> createDirtyAsync(String id, ThrowingConsumer<Void, IOException> stage,
            Supplier<CompletableFuture<Void>> flinkWrite) {
        return isLocal() ? runOnIoExecutor(() -> createDirty(id, stage)) : checkedThen(flinkWrite);
    }

    /** Marks an entry clean: locally through {@link #markClean}, otherwise {@code flinkWrite} after a fence check. */
    CompletableFuture<Void> markCleanAsync(String id, Supplier<CompletableFuture<Void>> flinkWrite) {
        return isLocal() ? runOnIoExecutor(() -> markClean(id)) : checkedThen(flinkWrite);
    }

    private CompletableFuture<Void> runOnIoExecutor(ThrowingRunnable<IOException> write) {
        return CompletableFuture.runAsync(() -> {
            try {
                write.run();
            } catch (IOException e) {
                throw new CompletionException(e);
            }
        }, ioExecutor);
    }

    /** Flink's store checks nothing: refuse before handing the write over (not at its commit). */
    private CompletableFuture<Void> checkedThen(Supplier<CompletableFuture<Void>> flinkWrite) {
        try {
            fence.checkNotFenced();
        } catch (IOException e) {
            return CompletableFuture.failedFuture(e);
        }
        return flinkWrite.get();
    }

    /**
     * Serializes through {@code stage} (Flink's store writing {@code <staging>/<id>_DIRTY.json})
     * and commits the bytes atomically as {@code <base>/<id>_DIRTY.json}.
     *
     * @throws IllegalStateException if a dirty or clean entry of that id exists
     */
    synchronized void createDirty(String id, ThrowingConsumer<Void, IOException> stage) throws IOException {
        Path base = localBase.orElseThrow();
        Path dirty = base.resolve(id + DIRTY_SUFFIX);
        Preconditions.checkState(!Files.exists(dirty) && !Files.exists(base.resolve(id + CLEAN_SUFFIX)),
                "The result store %s already contains an entry for %s.", base, id);
        Path staged = stagingDir().resolve(id + DIRTY_SUFFIX);
        files.io().delete(staged); // a leftover of a crashed attempt
        stage.accept(null);
        byte[] bytes = Files.readAllBytes(staged);
        files.writeAtomically(dirty, bytes, fence);
        files.io().delete(staged);
        syncAncestorsOnce(base);
    }

    /**
     * Flink's store creates the base directory with a plain mkdirs (no fsync of the parents):
     * make the directories above an entry durable once, or a power loss could drop the whole
     * directory with the results in it.
     */
    private void syncAncestorsOnce(Path base) throws IOException {
        if (ancestorsSynced) {
            return;
        }
        Path p = base.toAbsolutePath();
        for (int level = 0; level < 2 && p.getParent() != null; level++) {
            files.fsyncDirectory(p.getParent());
            p = p.getParent();
        }
        ancestorsSynced = true;
    }

    /**
     * Marks the entry of {@code id} clean: a fenced, durable rename to {@code <id>.json}, or a
     * fenced, durable delete when delete-on-commit is set. Already clean is fine.
     *
     * @throws NoSuchElementException if there is no entry
     */
    synchronized void markClean(String id) throws IOException {
        Path base = localBase.orElseThrow();
        Path dirty = base.resolve(id + DIRTY_SUFFIX);
        Path clean = base.resolve(id + CLEAN_SUFFIX);
        if (!Files.exists(dirty)) {
            if (Files.exists(clean)) {
                return;
            }
            throw new NoSuchElementException("Could not mark " + id + " as clean as it is not present in " + base + ".");
        }
        if (deleteOnCommit) {
            files.deleteDurably(dirty, fence);
        } else {
            files.renameDurably(dirty, clean, fence);
        }
    }
}
