package io.flinkfleet.ha.flink23;

import io.flinkfleet.ha.core.PvcHaLayout;
import io.flinkfleet.ha.core.PvcHaSettings;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.IllegalConfigurationException;
import org.apache.flink.runtime.highavailability.HighAvailabilityServicesUtils;

import java.net.URI;
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
}
