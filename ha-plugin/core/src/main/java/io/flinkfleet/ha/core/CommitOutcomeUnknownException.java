package io.flinkfleet.ha.core;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A write failed at or after its commit point (the rename, or the directory fsync that makes it
 * durable): the new content may or may not be what a restarted JobManager reads.
 *
 * <p>The Flink adapters translate this into Flink's {@code PossibleInconsistentStateException},
 * so Flink keeps the referenced state instead of discarding it.
 */
public class CommitOutcomeUnknownException extends IOException {
    private static final long serialVersionUID = 1L;

    public CommitOutcomeUnknownException(Path file, Throwable cause) {
        super("Outcome of the commit of HA file " + file + " is unknown", cause);
    }
}
