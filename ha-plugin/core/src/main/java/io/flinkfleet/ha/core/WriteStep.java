package io.flinkfleet.ha.core;

/** The points of a durable write at which a {@link FaultSeam} can simulate a crash. */
public enum WriteStep {
    /** The temp file holds the bytes but is not fsynced. */
    TEMP_WRITTEN,
    /** The temp file is fsynced, not yet renamed. */
    TEMP_FSYNCED,
    /** Renamed over the target, directory not yet fsynced (the commit point). */
    RENAMED,
    /** Directory fsynced: the write is durable. */
    DIRECTORY_FSYNCED
}
