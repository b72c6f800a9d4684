package io.flinkfleet.ha.core;

import java.io.IOException;

/**
 * This writer's epoch is no longer the newest: another JobManager has taken over the metadata
 * root. The writer must stop writing (its process is expected to exit).
 */
public class FencedException extends IOException {
    private static final long serialVersionUID = 1L;

    public FencedException(long ownEpoch, String detail) {
        super("Fenced: this JobManager holds epoch " + ownEpoch + " but " + detail
                + "; this JobManager no longer leads. Refusing to write.");
    }
}
