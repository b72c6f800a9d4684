package io.flinkfleet.ha.${flinkfleet.adapter.package};

import io.flinkfleet.ha.core.LeaderRecordSource;

import org.apache.flink.runtime.highavailability.ClientHighAvailabilityServices;
import org.apache.flink.runtime.leaderretrieval.DefaultLeaderRetrievalService;
import org.apache.flink.runtime.leaderretrieval.LeaderRetrievalService;

import java.time.Duration;

/** Client side: finds the REST endpoint by polling the {@code rest_server} leader record. No writes. */
public class PvcClientHaServices implements ClientHighAvailabilityServices {
    private final LeaderRecordSource source;
    private final Duration pollInterval;

    public PvcClientHaServices(LeaderRecordSource source, Duration pollInterval) {
        this.source = source;
        this.pollInterval = pollInterval;
    }

    @Override
    public LeaderRetrievalService getClusterRestEndpointLeaderRetriever() {
        return new DefaultLeaderRetrievalService(
                new PvcLeaderRetrievalDriverFactory(() -> source, PvcHaServices.REST_SERVER, pollInterval));
    }

    @Override
    public void close() {
        // Retrieval services are stopped by their users.
    }
}
