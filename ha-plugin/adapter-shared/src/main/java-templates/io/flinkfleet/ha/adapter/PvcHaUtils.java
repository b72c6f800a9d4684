package io.flinkfleet.ha.${flinkfleet.adapter.package};

import io.flinkfleet.ha.core.DurableFiles;
import io.flinkfleet.ha.core.EpochFence;
import io.flinkfleet.ha.core.FileRecordStore;
import io.flinkfleet.ha.core.HttpLeaderRecordSource;
import io.flinkfleet.ha.core.LeaderRecordSource;
import io.flinkfleet.ha.core.PvcHaLayout;
import io.flinkfleet.ha.core.PvcHaSettings;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.IllegalConfigurationException;
import org.apache.flink.runtime.highavailability.HighAvailabilityServicesUtils;

import org.apache.flink.configuration.JobManagerOptions;

import java.net.URI;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.Optional;

/** Configuration helpers: resolve the metadata root and map Flink paths to local ones. */
public final class PvcHaUtils {
    private PvcHaUtils() {}

    /** The metadata layout from the configuration. Pure: creates nothing on disk. */
    public static PvcHaLayout layout(Configuration config) {
        String explicit = config.get(PvcHaOptions.PATH);
        if (explicit != null && !explicit.isBlank()) {
            return new PvcHaLayout(localPath(explicit).orElseThrow(() -> notLocal(PvcHaSettings.PATH, explicit)));
        }
        org.apache.flink.core.fs.Path cluster = HighAvailabilityServicesUtils.getClusterHighAvailableStoragePath(config);
        java.nio.file.Path local = localPath(cluster.toString())
                .orElseThrow(() -> notLocal("high-availability.storageDir (or set " + PvcHaSettings.PATH + ")", cluster.toString()));
        return new PvcHaLayout(local.resolve(PvcHaSettings.DEFAULT_SUBDIR));
    }

    public static Duration pollInterval(Configuration config) {
        Duration d = config.get(PvcHaOptions.POLL_INTERVAL);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalConfigurationException(PvcHaSettings.POLL_INTERVAL + " must be positive, got " + d);
        }
        return d;
    }

    public static void checkMode(Configuration config) {
        String mode = config.get(PvcHaOptions.MODE);
        if (!PvcHaSettings.DEFAULT_MODE.equals(mode)) {
            throw new IllegalConfigurationException(PvcHaSettings.MODE + "=" + mode
                    + " is not supported by this version; only 'single' (one JobManager) is.");
        }
    }

    /** A local file-system path for a Flink path string (no scheme or file://), else empty. */
    public static Optional<java.nio.file.Path> localPath(String flinkPath) {
        URI uri = new org.apache.flink.core.fs.Path(flinkPath).toUri();
        if (uri.getScheme() == null || "file".equals(uri.getScheme())) {
            return Optional.of(Paths.get(uri.getPath()));
        }
        return Optional.empty();
    }

    private static IllegalConfigurationException notLocal(String key, String value) {
        return new IllegalConfigurationException(key + " must be a local path on the mounted volume "
                + "(no scheme or file://), got " + value);
    }

    /**
     * Base URLs of the leader servers, empty if none is configured.
     *
     * <p>Flink splits a list option's string on {@code ;} only, so {@code "http://a:1/,http://b:2/"}
     * arrives as one element, and {@code URI.resolve} of an absolute path would then silently
     * keep only the first authority: a TaskManager would poll the first server alone and never
     * see a standby that took over elsewhere. So commas separate addresses too, and every
     * address must be a plain {@code http(s)://host:port[/]} or the configuration is rejected.
     *
     * @throws IllegalConfigurationException if an address is not such a base URL
     */
    public static List<URI> leaderServers(Configuration config) {
        List<URI> uris = new ArrayList<>();
        List<String> explicit = config.get(PvcHaOptions.LEADER_SERVER_ADDRESSES);
        if (explicit != null && !explicit.isEmpty()) {
            for (String entry : explicit) {
                for (String s : entry.split(",")) {
                    if (!s.isBlank()) {
                        uris.add(leaderServerBase(s.trim()));
                    }
                }
            }
        } else if (config.get(PvcHaOptions.LEADER_SERVER_PORT) > 0) {
            uris.add(URI.create("http://" + config.get(JobManagerOptions.ADDRESS) + ":"
                    + config.get(PvcHaOptions.LEADER_SERVER_PORT) + "/"));
        }
        return uris;
    }

    private static URI leaderServerBase(String address) {
        URI uri;
        try {
            uri = new URI(address.endsWith("/") ? address : address + "/");
        } catch (java.net.URISyntaxException e) {
            throw badLeaderServer(address);
        }
        if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null
                || !"/".equals(uri.getPath()) || uri.getQuery() != null || uri.getFragment() != null
                || uri.getUserInfo() != null) {
            throw badLeaderServer(address);
        }
        return uri;
    }

    private static IllegalConfigurationException badLeaderServer(String address) {
        return new IllegalConfigurationException(PvcHaSettings.LEADER_SERVER_ADDRESSES + ": '" + address
                + "' is not a leader server base URL (http://host:port); separate several with ',' or ';'");
    }

    /**
     * Chooses where leader retrieval reads (see {@link PvcHaOptions#RETRIEVAL}). Decided when a
     * retrieval driver is created, never in a constructor.
     */
    public static LeaderRecordSource leaderSource(Configuration config, PvcHaLayout layout) {
        String mode = config.get(PvcHaOptions.RETRIEVAL);
        List<URI> servers = leaderServers(config);
        boolean http;
        switch (mode) {
            case "volume":
                http = false;
                break;
            case "http":
                if (servers.isEmpty()) {
                    throw new IllegalConfigurationException(PvcHaOptions.RETRIEVAL.key() + "=http needs "
                            + PvcHaOptions.LEADER_SERVER_ADDRESSES.key() + " or " + PvcHaOptions.LEADER_SERVER_PORT.key());
                }
                http = true;
                break;
            case "auto":
                http = !Files.isDirectory(layout.root()) && !servers.isEmpty();
                break;
            default:
                throw new IllegalConfigurationException("Unknown " + PvcHaOptions.RETRIEVAL.key() + ": " + mode);
        }
        if (http) {
            Duration poll = pollInterval(config);
            return new HttpLeaderRecordSource(servers, poll.compareTo(Duration.ofSeconds(2)) < 0 ? Duration.ofSeconds(2) : poll);
        }
        // A reader never holds an epoch: an unacquired fence makes the store read-only.
        FileRecordStore readOnly = new FileRecordStore(layout.leaders(), new EpochFence(layout.epochs()), new DurableFiles());
        return new LeaderRecordSource() {
            @Override
            public java.util.Optional<io.flinkfleet.ha.core.HaRecord> read(String componentId) throws java.io.IOException {
                return readOnly.read(componentId);
            }

            @Override
            public java.util.Optional<java.nio.file.Path> watchableDirectory() {
                return java.util.Optional.of(readOnly.directory());
            }

            @Override
            public String toString() {
                return readOnly.directory().toString();
            }
        };
    }
}
