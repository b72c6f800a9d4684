package io.flinkfleet.ha.${flinkfleet.adapter.package};

import io.flinkfleet.ha.core.LeaderRecordSource;

import org.apache.flink.runtime.leaderretrieval.LeaderRetrievalDriver;
import org.apache.flink.runtime.leaderretrieval.LeaderRetrievalDriverFactory;
import org.apache.flink.runtime.leaderretrieval.LeaderRetrievalEventHandler;
import org.apache.flink.runtime.rpc.FatalErrorHandler;

import java.time.Duration;
import java.util.function.Supplier;

/** Creates {@link PvcLeaderRetrievalDriver}s; used in JobManagers, TaskManagers and clients. */
public class PvcLeaderRetrievalDriverFactory implements LeaderRetrievalDriverFactory {
    private final Supplier<LeaderRecordSource> source;
    private final String componentId;
    private final Duration pollInterval;

    /** @param source chosen lazily, when the driver starts (volume or leader server) */
    public PvcLeaderRetrievalDriverFactory(Supplier<LeaderRecordSource> source, String componentId, Duration pollInterval) {
        this.source = source;
        this.componentId = componentId;
        this.pollInterval = pollInterval;
    }

    @Override
    public LeaderRetrievalDriver createLeaderRetrievalDriver(
            LeaderRetrievalEventHandler handler, FatalErrorHandler fatalErrorHandler) {
        return new PvcLeaderRetrievalDriver(source.get(), componentId, pollInterval, handler, fatalErrorHandler);
    }
}
