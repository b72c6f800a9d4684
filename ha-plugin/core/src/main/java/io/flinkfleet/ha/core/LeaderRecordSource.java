package io.flinkfleet.ha.core;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Where leader retrieval reads a component's leader record: the volume itself, or the leader
 * server of the JobManager for processes that do not mount the volume.
 */
@FunctionalInterface
public interface LeaderRecordSource {
    /**
     * The current record, empty if none.
     *
     * @throws CorruptHaFileException if a record exists but is damaged (fail loudly)
     * @throws IOException for transient errors (retry at the next poll)
     */
    Optional<HaRecord> read(String componentId) throws IOException;

    /**
     * The local directory holding the records, when they can be watched for changes
     * ({@link LeaderDirectoryWatch}); empty for sources that can only be polled (the leader server).
     */
    default Optional<Path> watchableDirectory() {
        return Optional.empty();
    }
}
