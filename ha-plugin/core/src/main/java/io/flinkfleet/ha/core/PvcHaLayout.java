package io.flinkfleet.ha.core;

import java.nio.file.Path;

/**
 * Where everything lives under the metadata root ({@code high-availability.pvc.path}).
 *
 * <pre>
 * &lt;root&gt;/
 *   epochs/epoch-0000000000000000007        fencing tokens, exclusive create, never deleted
 *   leader/&lt;component&gt;                      address + session id of the leader of a component
 *                                         (dispatcher, resource_manager, rest_server, job-&lt;id&gt;)
 *   execution-plans/&lt;job-id&gt;                pointer to the submitted execution plan
 *   applications/&lt;application-id&gt;          pointer to the submitted application
 *   jobs/&lt;job-id&gt;/checkpoint-counter       next checkpoint id
 *   jobs/&lt;job-id&gt;/checkpoints/checkpoint-0000000000000000042
 *                                         pointer to a completed checkpoint's metadata
 * </pre>
 *
 * Pointers reference state handles written under {@code high-availability.storageDir}; the job
 * and application result stores and the blob store are Flink's own file-based ones there.
 */
public final class PvcHaLayout {
    private final Path root;

    public PvcHaLayout(Path root) {
        this.root = root.toAbsolutePath().normalize();
    }

    public Path root() {
        return root;
    }

    /** The leadership lock file (an exclusive OS lock on it is leadership); never deleted. */
    public Path lockFile() {
        return root.resolve(LOCK_FILE);
    }

    public static final String LOCK_FILE = "leader.lock";

    public Path epochs() {
        return root.resolve("epochs");
    }

    public Path leaders() {
        return root.resolve("leader");
    }

    public Path executionPlans() {
        return root.resolve("execution-plans");
    }

    public Path applications() {
        return root.resolve("applications");
    }

    public Path jobs() {
        return root.resolve("jobs");
    }

    public Path job(String jobId) {
        return jobs().resolve(jobId);
    }

    public Path checkpoints(String jobId) {
        return job(jobId).resolve("checkpoints");
    }

    public static final String CHECKPOINT_COUNTER = "checkpoint-counter";

    public static final String CHECKPOINT_PREFIX = "checkpoint-";

    /** Zero-padded so that lexical order is exactly checkpoint-id order. */
    public static String checkpointName(long checkpointId) {
        if (checkpointId < 0) {
            throw new IllegalArgumentException("Negative checkpoint id " + checkpointId);
        }
        return String.format("%s%019d", CHECKPOINT_PREFIX, checkpointId);
    }

    /** Inverse of {@link #checkpointName}; -1 for names that are not checkpoint pointers. */
    public static long checkpointId(String name) {
        if (!name.startsWith(CHECKPOINT_PREFIX) || name.length() != CHECKPOINT_PREFIX.length() + 19) {
            return -1L;
        }
        try {
            return Long.parseLong(name.substring(CHECKPOINT_PREFIX.length()));
        } catch (NumberFormatException e) {
            return -1L;
        }
    }

    @Override
    public String toString() {
        return "PvcHaLayout{" + root + "}";
    }
}
