package io.flinkfleet.ha.core;

import java.io.IOException;
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
}
