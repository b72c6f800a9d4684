package io.flinkfleet.ha.flink23;

import io.flinkfleet.ha.core.DurableFiles;

import org.apache.flink.runtime.persistence.RetrievableStateStorageHelper;
import org.apache.flink.runtime.persistence.filesystem.FileSystemStateStorageHelper;
import org.apache.flink.runtime.state.RetrievableStateHandle;
import org.apache.flink.runtime.state.RetrievableStreamStateHandle;
import org.apache.flink.runtime.state.memory.ByteStreamStateHandle;
import org.apache.flink.util.InstantiationUtil;

import java.io.IOException;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import java.util.UUID;

/**
 * Stores the state a pointer refers to (completed checkpoint, execution plan, application).
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

    public DurableStateStorageHelper(org.apache.flink.core.fs.Path root, String prefix, long inlineLimit) {
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
        Path dir = localRoot.get();
        DurableFiles.createDirectoriesDurably(dir);
        Path file = dir.resolve(prefix + "-" + UUID.randomUUID());
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer buf = ByteBuffer.wrap(bytes);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            ch.force(true);
        } catch (IOException e) {
            Files.deleteIfExists(file);
            throw e;
        }
        DurableFiles.fsyncDirectory(dir);
        return new RetrievableStreamStateHandle<>(new org.apache.flink.core.fs.Path(file.toUri()), bytes.length);
    }
}
