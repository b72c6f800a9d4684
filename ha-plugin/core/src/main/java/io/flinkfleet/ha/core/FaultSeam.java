package io.flinkfleet.ha.core;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Test hook called after each {@link WriteStep}. Production uses {@link #NONE}.
 *
 * <p>A test simulates a process crash by throwing an {@link Error} (which the writer does not
 * clean up after, as a killed process would not) or an I/O failure by throwing an
 * {@link IOException}.
 */
@FunctionalInterface
public interface FaultSeam {
    FaultSeam NONE = (step, target) -> {};

    void after(WriteStep step, Path target) throws IOException;
}
