package io.flinkfleet.ha.${flinkfleet.adapter.package};

import io.flinkfleet.ha.core.CommitOutcomeUnknownException;
import io.flinkfleet.ha.core.CorruptHaFileException;
import io.flinkfleet.ha.core.FileRecordStore;
import io.flinkfleet.ha.core.HaRecord;

import org.apache.flink.annotation.VisibleForTesting;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.runtime.persistence.IntegerResourceVersion;
import org.apache.flink.runtime.persistence.PossibleInconsistentStateException;
import org.apache.flink.runtime.persistence.RetrievableStateStorageHelper;
import org.apache.flink.runtime.persistence.StateHandleStore;
import org.apache.flink.runtime.state.RetrievableStateHandle;
import org.apache.flink.runtime.state.StreamStateHandle;
import org.apache.flink.util.InstantiationUtil;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * {@link StateHandleStore} whose entries are pointer files in one directory of the metadata
 * root; the state is stored by a {@link RetrievableStateStorageHelper}, inline in the pointer
 * when small (see {@link DurableStateStorageHelper}) or in a file under the HA storage
 * directory.
 *
 * <p>Contracts, as Flink's other stores:
 * <ul>
 *   <li>A failed write discards the new state, except when the commit outcome is unknown: then
 *       it throws {@link PossibleInconsistentStateException} and keeps the state, which a
 *       restarted JobManager may reference.
 *   <li>Removal first marks the pointer for deletion by renaming it (so a crash mid-removal
 *       never leaves a visible pointer to discarded state, and no data is written: removal works
 *       on a full volume), discards the state, then deletes the marker. A marker left by a crash
 *       is collected by the next leader when it takes the lock. Repeating a removal is harmless.
 *   <li>A corrupt pointer fails the read with an error naming the file; nothing is skipped.
 *   <li>There are no locks to release: only one JobManager (the epoch holder) ever writes.
 * </ul>
 */
public class PvcStateHandleStore<T extends Serializable> implements StateHandleStore<T, IntegerResourceVersion> {
    private static final Logger LOG = LoggerFactory.getLogger(PvcStateHandleStore.class);

    private final FileRecordStore records;
    private final RetrievableStateStorageHelper<T> storage;
    private final Predicate<String> nameFilter;

    public PvcStateHandleStore(FileRecordStore records, RetrievableStateStorageHelper<T> storage) {
        this(records, storage, name -> true);
    }

    public PvcStateHandleStore(
            FileRecordStore records, RetrievableStateStorageHelper<T> storage, Predicate<String> nameFilter) {
        this.records = records;
        this.storage = storage;
        this.nameFilter = nameFilter;
    }

    /**
     * Stores {@code state} and commits a pointer to it under {@code name}.
     *
     * @throws AlreadyExistException if a live entry of that name exists (state discarded)
     * @throws PossibleInconsistentStateException if the commit outcome is unknown (state kept)
     */
    @Override
    public RetrievableStateHandle<T> addAndLock(String name, T state) throws Exception {
        Optional<HaRecord> existing = records.read(name);
        if (existing.isPresent() && !existing.get().markedForDeletion()) {
            throw new AlreadyExistException("Entry " + records.pathOf(name) + " already exists.");
        }
        RetrievableStateHandle<T> handle = storage.store(state);
        // Discard only on exceptions: after an Error (or a crash) the pointer may be committed,
        // and leaking a file is better than a pointer to deleted state.
        try {
            records.write(name, 1, false, serialize(handle));
            return handle;
        } catch (CommitOutcomeUnknownException e) {
            throw new PossibleInconsistentStateException(e);
        } catch (Exception e) {
            discardQuietly(handle);
            throw e;
        }
    }

    /**
     * Replaces the pointer under {@code name}; discards the old state only after the new pointer
     * is durable.
     *
     * @throws NotExistException if there is no live entry or its version differs
     * @throws PossibleInconsistentStateException if the commit outcome is unknown (both kept)
     */
    @Override
    public void replace(String name, IntegerResourceVersion resourceVersion, T state) throws Exception {
        Optional<HaRecord> existing = records.read(name);
        if (existing.isEmpty() || existing.get().markedForDeletion()) {
            throw new NotExistException("Entry " + records.pathOf(name) + " does not exist.");
        }
        HaRecord old = existing.get();
        if (resourceVersion.isExisting() && resourceVersion.getValue() != old.version()) {
            throw new NotExistException("Entry " + records.pathOf(name) + " has version " + old.version()
                    + ", expected " + resourceVersion.getValue() + ".");
        }
        RetrievableStateHandle<T> oldHandle = deserialize(name, old);
        RetrievableStateHandle<T> newHandle = storage.store(state);
        try {
            records.write(name, old.version() + 1, false, serialize(newHandle));
        } catch (CommitOutcomeUnknownException e) {
            throw new PossibleInconsistentStateException(e);
        } catch (Exception e) {
            discardQuietly(newHandle);
            throw e;
        }
        // Only once the new pointer is durable.
        discardQuietly(oldHandle);
    }

    @Override
    public IntegerResourceVersion exists(String name) throws Exception {
        Optional<HaRecord> r = records.read(name);
        return r.isPresent() && !r.get().markedForDeletion()
                ? IntegerResourceVersion.valueOf(r.get().version())
                : IntegerResourceVersion.notExisting();
    }

    @Override
    public RetrievableStateHandle<T> getAndLock(String name) throws Exception {
        Optional<HaRecord> r = records.read(name);
        if (r.isEmpty() || r.get().markedForDeletion()) {
            throw new NotExistException("Entry " + records.pathOf(name) + " does not exist.");
        }
        return deserialize(name, r.get());
    }

    /** All live entries; fails on the first corrupt pointer (never skips one). */
    @Override
    public List<Tuple2<RetrievableStateHandle<T>, String>> getAllAndLock() throws Exception {
        List<Tuple2<RetrievableStateHandle<T>, String>> result = new ArrayList<>();
        for (String name : records.list()) {
            if (!nameFilter.test(name)) {
                continue;
            }
            Optional<HaRecord> r = records.read(name);
            if (r.isPresent() && !r.get().markedForDeletion()) {
                result.add(Tuple2.of(deserialize(name, r.get()), name));
            }
        }
        return result;
    }

    @Override
    public Collection<String> getAllHandles() throws Exception {
        List<String> names = new ArrayList<>();
        for (String name : records.list()) {
            if (!nameFilter.test(name)) {
                continue;
            }
            Optional<HaRecord> r = records.read(name);
            if (r.isPresent() && !r.get().markedForDeletion()) {
                names.add(name);
            }
        }
        return names;
    }

    /**
     * Marks, discards, deletes (inline state: just deletes). Returns true when the entry is gone
     * (also if it never existed). A failure to discard the state propagates, leaving the marked
     * pointer for a retry.
     */
    @Override
    public boolean releaseAndTryRemove(String name) throws Exception {
        Optional<HaRecord> r = records.read(name);
        if (r.isEmpty()) {
            return true;
        }
        if (isInline(name, r.get())) {
            // The state lives in the pointer: one durable unlink and it is gone.
            records.delete(name);
            return true;
        }
        // Hide the pointer first (a rename: no data written, works on a full volume), so that a
        // crash mid-removal never leaves a visible pointer to discarded state; the next leader
        // collects a marker left behind (PvcPendingDeletions).
        Optional<java.nio.file.Path> marker = records.markForDeletion(name);
        if (marker.isPresent()) {
            PvcPendingDeletions.discardAndDelete(records, marker.get());
        }
        return true;
    }

    /** Removes all pointers without discarding state (Flink's contract for this method). */
    @Override
    public void clearEntries() throws Exception {
        for (String name : records.list()) {
            if (nameFilter.test(name)) {
                records.delete(name);
            }
        }
    }

    @Override
    public void release(String name) {
        // No locks: a single JobManager owns the metadata, fenced by its epoch.
    }

    @Override
    public void releaseAll() {
        // No locks, see release.
    }

    private boolean isInline(String name, HaRecord record) {
        try {
            RetrievableStateHandle<T> h = deserialize(name, record);
            return h instanceof StreamStateHandle && ((StreamStateHandle) h).asBytesIfInMemory().isPresent();
        } catch (IOException e) {
            return false; // handled by the regular path below
        }
    }

    @VisibleForTesting
    static byte[] serialize(RetrievableStateHandle<?> handle) throws IOException {
        return InstantiationUtil.serializeObject(handle);
    }

    @SuppressWarnings("unchecked")
    private RetrievableStateHandle<T> deserialize(String name, HaRecord record) throws IOException {
        try {
            return (RetrievableStateHandle<T>) InstantiationUtil.deserializeObject(
                    record.payload(), Thread.currentThread().getContextClassLoader());
        } catch (ClassNotFoundException | IOException | ClassCastException e) {
            CorruptHaFileException c = new CorruptHaFileException(records.pathOf(name),
                    "cannot deserialize the state handle: " + e);
            c.initCause(e);
            throw c;
        }
    }

    private static void discardQuietly(RetrievableStateHandle<?> handle) {
        try {
            handle.discardState();
        } catch (Exception e) {
            LOG.warn("Could not discard state {}.", handle, e);
        }
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "{" + records.directory() + "}";
    }
}
