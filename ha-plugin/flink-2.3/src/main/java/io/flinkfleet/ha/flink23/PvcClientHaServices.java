package io.flinkfleet.ha.flink23;

import io.flinkfleet.ha.core.PvcHaLayout;

import org.apache.flink.runtime.highavailability.ClientHighAvailabilityServices;
import org.apache.flink.runtime.leaderretrieval.DefaultLeaderRetrievalService;
import org.apache.flink.runtime.leaderretrieval.LeaderRetrievalService;

import java.time.Duration;

/** Client side: finds the REST endpoint by polling {@code leader/rest_server}. No writes. */
public class PvcClientHaServices implements ClientHighAvailabilityServices {
    private final PvcHaLayout layout;
    private final Duration pollInterval;

    public PvcClientHaServices(PvcHaLayout layout, Duration pollInterval) {
        this.layout = layout;
        this.pollInterval = pollInterval;
    }

    @Override
    public LeaderRetrievalService getClusterRestEndpointLeaderRetriever() {
        return new DefaultLeaderRetrievalService(
                new PvcLeaderRetrievalDriverFactory(layout, PvcHaServices.REST_SERVER, pollInterval));
    }

    @Override
    public void close() {
        // Retrieval services are stopped by their users.
    }
}
