package io.flinkfleet.ha.flink23;

import io.flinkfleet.ha.core.DurableFiles;
import io.flinkfleet.ha.core.EpochFence;
import io.flinkfleet.ha.core.FileRecordStore;
import io.flinkfleet.ha.core.PvcHaLayout;

import org.apache.flink.runtime.leaderretrieval.LeaderRetrievalDriver;
import org.apache.flink.runtime.leaderretrieval.LeaderRetrievalDriverFactory;
import org.apache.flink.runtime.leaderretrieval.LeaderRetrievalEventHandler;
import org.apache.flink.runtime.rpc.FatalErrorHandler;

import java.time.Duration;

/** Creates {@link PvcLeaderRetrievalDriver}s; used in JobManagers, TaskManagers and clients. */
public class PvcLeaderRetrievalDriverFactory implements LeaderRetrievalDriverFactory {
    private final PvcHaLayout layout;
    private final String componentId;
    private final Duration pollInterval;

    public PvcLeaderRetrievalDriverFactory(PvcHaLayout layout, String componentId, Duration pollInterval) {
        this.layout = layout;
        this.componentId = componentId;
        this.pollInterval = pollInterval;
    }

    @Override
    public LeaderRetrievalDriver createLeaderRetrievalDriver(
            LeaderRetrievalEventHandler handler, FatalErrorHandler fatalErrorHandler) {
        // A reader never holds an epoch: an unacquired fence makes the store read-only.
        FileRecordStore readOnly = new FileRecordStore(layout.leaders(), new EpochFence(layout.epochs()), new DurableFiles());
        return new PvcLeaderRetrievalDriver(readOnly, componentId, pollInterval, handler, fatalErrorHandler);
    }
}
