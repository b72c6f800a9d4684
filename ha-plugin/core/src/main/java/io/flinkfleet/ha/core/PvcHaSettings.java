package io.flinkfleet.ha.core;

import java.time.Duration;

/**
 * Our configuration keys and defaults, shared by every adapter so that a key means the same on
 * every Flink version. Adapters wrap these in Flink {@code ConfigOption}s.
 */
public final class PvcHaSettings {
    private PvcHaSettings() {}

    /** Metadata root on the volume; default {@code <storageDir>/<cluster-id>/pvc-ha}. Local path. */
    public static final String PATH = "high-availability.pvc.path";

    /** Sub-directory of the cluster's HA storage path used when {@link #PATH} is unset. */
    public static final String DEFAULT_SUBDIR = "pvc-ha";

    /** How often leader retrieval reads the leader files and the elector checks its epoch. */
    public static final String POLL_INTERVAL = "high-availability.pvc.poll-interval";

    public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofSeconds(1);

    /** {@code single} (one JobManager, epoch fencing). {@code standby} is reserved for leases. */
    public static final String MODE = "high-availability.pvc.mode";

    public static final String DEFAULT_MODE = "single";

    /**
     * Whether clients (CLI, REST client) find the REST endpoint through the leader file
     * ({@code volume}), through {@code rest.address} ({@code rest-address}), or the former when
     * the metadata root is readable and else the latter ({@code auto}).
     */
    public static final String CLIENT_DISCOVERY = "high-availability.pvc.client.discovery";

    public static final String DEFAULT_CLIENT_DISCOVERY = "auto";

    /**
     * Port of the JobManager's read-only leader file server (HTTP), for TaskManagers and
     * clients that do not mount the volume. 0 (default) disables it.
     */
    public static final String LEADER_SERVER_PORT = "high-availability.pvc.leader-server.port";

    public static final int DEFAULT_LEADER_SERVER_PORT = 0;

    /**
     * Port of the JobManager's HA metrics endpoint (Prometheus text format 0.0.4 on
     * {@code /metrics}): leadership, epoch, lock wait, commit latency, failovers, fence refusals.
     * 0 (default) or negative disables it. Flink's own reporter cannot carry these: HA services
     * get no metric group.
     */
    public static final String METRICS_PORT = "high-availability.pvc.metrics.port";

    public static final int DEFAULT_METRICS_PORT = 0;

    /**
     * Base URLs of the leader server(s), e.g. {@code http://flink-jobmanager:6126}. Default:
     * {@code http://<jobmanager.rpc.address>:<leader-server.port>}.
     */
    public static final String LEADER_SERVER_ADDRESSES = "high-availability.pvc.leader-server.addresses";

    /**
     * Where leader retrieval reads: {@code volume}, {@code http} (the leader server), or
     * {@code auto}: the volume when the metadata root is there, else the leader server when one
     * is configured, else the volume.
     */
    public static final String RETRIEVAL = "high-availability.pvc.retrieval";

    public static final String DEFAULT_RETRIEVAL = "auto";

    /**
     * State (checkpoint handle, execution plan, application) up to this many bytes is stored
     * inside its pointer file instead of a separate file under the HA storage directory.
     */
    public static final String INLINE_STATE_LIMIT = "high-availability.pvc.inline-state-limit";

    public static final String DEFAULT_INLINE_STATE_LIMIT = "1 mb";
}
