package io.flinkfleet.ha.${flinkfleet.adapter.package};

import io.flinkfleet.ha.core.PvcHaSettings;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

import java.time.Duration;

/** Flink {@link ConfigOption}s for the keys defined in {@link PvcHaSettings}. */
public final class PvcHaOptions {
    private PvcHaOptions() {}

    public static final ConfigOption<String> PATH =
            ConfigOptions.key(PvcHaSettings.PATH)
                    .stringType()
                    .noDefaultValue()
                    .withDescription(
                            "Local directory (on the mounted volume) for the HA metadata: epochs, "
                                    + "leader files and pointers. Default: <high-availability.storageDir>/"
                                    + "<high-availability.cluster-id>/" + PvcHaSettings.DEFAULT_SUBDIR + ".");

    public static final ConfigOption<Duration> POLL_INTERVAL =
            ConfigOptions.key(PvcHaSettings.POLL_INTERVAL)
                    .durationType()
                    .defaultValue(PvcHaSettings.DEFAULT_POLL_INTERVAL)
                    .withDescription(
                            "How often leader retrieval (TaskManagers, clients) reads the leader files "
                                    + "and the JobManager checks that its epoch is still the newest.");

    public static final ConfigOption<String> MODE =
            ConfigOptions.key(PvcHaSettings.MODE)
                    .stringType()
                    .defaultValue(PvcHaSettings.DEFAULT_MODE)
                    .withDescription("'single': one JobManager, fenced by epochs. Other modes are reserved.");

    public static final ConfigOption<String> CLIENT_DISCOVERY =
            ConfigOptions.key(PvcHaSettings.CLIENT_DISCOVERY)
                    .stringType()
                    .defaultValue(PvcHaSettings.DEFAULT_CLIENT_DISCOVERY)
                    .withDescription(
                            "How clients find the REST endpoint: 'volume' (leader file), 'rest-address' "
                                    + "(rest.address/rest.port), or 'auto' (volume when readable).");

    public static final ConfigOption<Integer> LEADER_SERVER_PORT =
            ConfigOptions.key(PvcHaSettings.LEADER_SERVER_PORT)
                    .intType()
                    .defaultValue(PvcHaSettings.DEFAULT_LEADER_SERVER_PORT)
                    .withDescription(
                            "Port of the JobManager's read-only HTTP server of the leader files, for "
                                    + "TaskManagers and clients without the volume. 0 disables it.");

    public static final ConfigOption<Integer> METRICS_PORT =
            ConfigOptions.key(PvcHaSettings.METRICS_PORT)
                    .intType()
                    .defaultValue(PvcHaSettings.DEFAULT_METRICS_PORT)
                    .withDescription(
                            "Port of the JobManager's HA metrics endpoint (Prometheus text format, GET /metrics), "
                                    + "bound to jobmanager.bind-host. 0 or -1 disables it.");

    public static final ConfigOption<java.util.List<String>> LEADER_SERVER_ADDRESSES =
            ConfigOptions.key(PvcHaSettings.LEADER_SERVER_ADDRESSES)
                    .stringType()
                    .asList()
                    .noDefaultValue()
                    .withDescription(
                            "Base URLs of the leader server(s). Default: http://<jobmanager.rpc.address>:"
                                    + "<leader-server.port>. With several, the newest epoch wins.");

    public static final ConfigOption<String> RETRIEVAL =
            ConfigOptions.key(PvcHaSettings.RETRIEVAL)
                    .stringType()
                    .defaultValue(PvcHaSettings.DEFAULT_RETRIEVAL)
                    .withDescription(
                            "Where leader retrieval reads: 'volume', 'http' (leader server) or 'auto' "
                                    + "(volume when the metadata root exists, else the leader server if configured).");

    public static final ConfigOption<org.apache.flink.configuration.MemorySize> INLINE_STATE_LIMIT =
            ConfigOptions.key(PvcHaSettings.INLINE_STATE_LIMIT)
                    .memoryType()
                    .defaultValue(org.apache.flink.configuration.MemorySize.parse(PvcHaSettings.DEFAULT_INLINE_STATE_LIMIT))
                    .withDescription(
                            "State up to this size is stored inside its pointer file (one atomic write); "
                                    + "larger state goes to a file under high-availability.storageDir. 0 disables inlining.");
}
