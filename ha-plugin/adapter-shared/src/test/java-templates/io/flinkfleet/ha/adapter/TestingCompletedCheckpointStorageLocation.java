package io.flinkfleet.ha.${flinkfleet.adapter.package};

import org.apache.flink.runtime.state.CompletedCheckpointStorageLocation;
import org.apache.flink.runtime.state.StreamStateHandle;
import org.apache.flink.runtime.state.memory.ByteStreamStateHandle;

/** In-memory checkpoint location; disposal is a no-op. */
final class TestingCompletedCheckpointStorageLocation implements CompletedCheckpointStorageLocation {
    private static final long serialVersionUID = 1L;
    private final long id;

    TestingCompletedCheckpointStorageLocation(long id) {
        this.id = id;
    }

    @Override
    public String getExternalPointer() {
        return "memory://checkpoint-" + id;
    }

    @Override
    public StreamStateHandle getMetadataHandle() {
        return new ByteStreamStateHandle("metadata-" + id, new byte[] {1});
    }

    @Override
    public void disposeStorageLocation() {}
}
