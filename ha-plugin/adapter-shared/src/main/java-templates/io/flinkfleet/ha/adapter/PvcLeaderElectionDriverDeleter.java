package io.flinkfleet.ha.${flinkfleet.adapter.package};

import io.flinkfleet.ha.core.EpochFence;
import io.flinkfleet.ha.core.FileRecordStore;
import io.flinkfleet.ha.core.HaRecord;

import java.io.IOException;
import java.util.Optional;

/** Deletes a leader file only if this epoch wrote it: never another JobManager's record. */
final class PvcLeaderElectionDriverDeleter {
    private final FileRecordStore leaders;
    private final EpochFence fence;

    PvcLeaderElectionDriverDeleter(FileRecordStore leaders, EpochFence fence) {
        this.leaders = leaders;
        this.fence = fence;
    }

    boolean deleteOwn(String componentId) throws IOException {
        Optional<HaRecord> current = leaders.read(componentId);
        if (current.isPresent() && current.get().epoch() == fence.epoch()) {
            leaders.delete(componentId);
            return true;
        }
        return false;
    }
}
