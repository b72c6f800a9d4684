package io.flinkfleet.ha.flink20;

import io.flinkfleet.ha.core.DurableFiles;

import org.apache.flink.runtime.persistence.RetrievableStateStorageHelper;
import org.apache.flink.runtime.persistence.filesystem.FileSystemStateStorageHelper;
import org.apache.flink.runtime.state.RetrievableStateHandle;
import org.apache.flink.runtime.state.RetrievableStreamStateHandle;
import org.apache.flink.runtime.state.memory.ByteStreamStateHandle;
import org.apache.flink.util.InstantiationUtil;

import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.Optional;
import java.util.UUID;

/**
 * Stores the state a pointer refers to (completed checkpoint, execution plan).
 *
 * <p>State up to {@code inlineLimit} bytes travels inside the pointer file itself (an in-memory
 * handle): one atomic file, half the fsyncs, nothing to discard or leak. ZooKeeper and
 * ConfigMaps need small pointers; a volume does not. Larger state is written to a file under
 * the HA storage directory and fsynced before the pointer is committed (Flink's
 * {@link FileSystemStateStorageHelper} does not fsync, so after a power loss a durable pointer
 * could reference an empty file). For non-local storage directories (e.g. s3://) we defer to
 * Flink's helper, whose file systems have their own durability.
 */
public final class DurableStateStorageHelper<T extends Serializable> implements RetrievableStateStorageHelper<T> {
    private final org.apache.flink.core.fs.Path root;
    private final String prefix;
    private final Optional<Path> localRoot;
    private final long inlineLimit;
    private final DurableFiles files;

    public DurableStateStorageHelper(org.apache.flink.core.fs.Path root, String prefix, long inlineLimit) {
        this(root, prefix, inlineLimit, new DurableFiles());
    }

    public DurableStateStorageHelper(
            org.apache.flink.core.fs.Path root, String prefix, long inlineLimit, DurableFiles files) {
        this.files = files;
        this.root = root;
        this.prefix = prefix;
        this.localRoot = PvcHaUtils.localPath(root.toString());
        this.inlineLimit = inlineLimit;
    }

    @Override
    public RetrievableStateHandle<T> store(T state) throws Exception {
        byte[] bytes = InstantiationUtil.serializeObject(state);
        if (bytes.length <= inlineLimit) {
            return new RetrievableStreamStateHandle<>(new ByteStreamStateHandle(prefix + "-" + UUID.randomUUID(), bytes));
        }
        if (localRoot.isEmpty()) {
            return new FileSystemStateStorageHelper<T>(root, prefix).store(state);
        }
        Path file = localRoot.get().resolve(prefix + "-" + UUID.randomUUID());
        try {
            files.createExclusively(file, bytes); // write, fsync the file, fsync its directory
        } catch (IOException e) {
            try {
                files.io().delete(file);
            } catch (IOException deleteFailure) {
                e.addSuppressed(deleteFailure);
            }
            throw e;
        }
        return new RetrievableStreamStateHandle<>(new org.apache.flink.core.fs.Path(file.toUri()), bytes.length);
    }
}
