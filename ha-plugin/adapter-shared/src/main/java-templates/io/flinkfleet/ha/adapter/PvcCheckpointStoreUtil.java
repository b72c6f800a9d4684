package io.flinkfleet.ha.${flinkfleet.adapter.package};

import io.flinkfleet.ha.core.PvcHaLayout;

import org.apache.flink.runtime.checkpoint.CheckpointStoreUtil;

/** Zero-padded names, so Flink's sort-by-name recovery order is exactly checkpoint-id order. */
public enum PvcCheckpointStoreUtil implements CheckpointStoreUtil {
    INSTANCE;

    @Override
    public String checkpointIDToName(long checkpointId) {
        return PvcHaLayout.checkpointName(checkpointId);
    }

    @Override
    public long nameToCheckpointID(String name) {
        long id = PvcHaLayout.checkpointId(name);
        return id < 0 ? INVALID_CHECKPOINT_ID : id;
    }
}
