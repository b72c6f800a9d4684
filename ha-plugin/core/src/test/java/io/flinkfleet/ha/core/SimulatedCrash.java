package io.flinkfleet.ha.core;

/** Thrown by test seams to stop a write the way a SIGKILL would: no cleanup runs. */
final class SimulatedCrash extends Error {
    private static final long serialVersionUID = 1L;

    SimulatedCrash(WriteStep step) {
        super("simulated crash after " + step);
    }
}
