package io.flinkfleet.ha.${flinkfleet.adapter.package};

import io.flinkfleet.ha.core.DurableFiles;
import io.flinkfleet.ha.core.FaultSeam;
import io.flinkfleet.ha.core.NioFileIo;
import io.flinkfleet.ha.core.PvcHaMetrics;
import io.flinkfleet.ha.core.PvcHaLayout;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.IllegalConfigurationException;
import org.apache.flink.runtime.blob.BlobUtils;
import org.apache.flink.runtime.highavailability.ClientHighAvailabilityServices;
import org.apache.flink.runtime.highavailability.HighAvailabilityServices;
import org.apache.flink.runtime.highavailability.HighAvailabilityServicesFactory;
import org.apache.flink.runtime.highavailability.HighAvailabilityServicesUtils;
import org.apache.flink.runtime.highavailability.nonha.standalone.StandaloneClientHAServices;
import org.apache.flink.runtime.rpc.AddressResolution;

import java.nio.file.Files;
import java.util.concurrent.Executor;

/**
 * Entry point: {@code high-availability.type: io.flinkfleet.ha.${flinkfleet.adapter.package}.PvcHaServicesFactory}.
 * Instantiated in JobManagers, TaskManagers and clients, so it does nothing but wiring.
 */
public class PvcHaServicesFactory implements HighAvailabilityServicesFactory {

    @Override
    public HighAvailabilityServices createHAServices(Configuration configuration, Executor executor) throws Exception {
        return PvcHaServices.create(configuration, executor,
                BlobUtils.createBlobStoreFromConfig(configuration),
                new DurableFiles(FaultSeam.NONE, NioFileIo.INSTANCE, PvcHaMetrics.create()));
    }

    /**
     * Clients read the {@code rest_server} leader record from the volume or the leader server;
     * without either they fall back to {@code rest.address}, see
     * {@link PvcHaOptions#CLIENT_DISCOVERY}.
     */
    @Override
    public ClientHighAvailabilityServices createClientHAServices(Configuration configuration) throws Exception {
        String discovery = configuration.get(PvcHaOptions.CLIENT_DISCOVERY);
        PvcHaLayout layout = PvcHaUtils.layout(configuration);
        boolean leaderRecords;
        switch (discovery) {
            case "volume":
                leaderRecords = true;
                break;
            case "rest-address":
                leaderRecords = false;
                break;
            case "auto":
                leaderRecords = Files.isReadable(layout.leaders()) || !PvcHaUtils.leaderServers(configuration).isEmpty();
                break;
            default:
                throw new IllegalConfigurationException("Unknown " + PvcHaOptions.CLIENT_DISCOVERY.key() + ": " + discovery);
        }
        if (leaderRecords) {
            return new PvcClientHaServices(PvcHaUtils.leaderSource(configuration, layout), PvcHaUtils.pollInterval(configuration));
        }
        return new StandaloneClientHAServices(
                HighAvailabilityServicesUtils.getWebMonitorAddress(configuration, AddressResolution.NO_ADDRESS_RESOLUTION));
    }
}
