package io.flinkfleet.ha.${flinkfleet.adapter.package};

import io.flinkfleet.ha.core.DurableFiles;
import io.flinkfleet.ha.core.EpochFence;
import io.flinkfleet.ha.core.FaultSeam;
import io.flinkfleet.ha.core.FileIo;
import io.flinkfleet.ha.core.FileRecordStore;
import io.flinkfleet.ha.core.ForwardingFileIo;
import io.flinkfleet.ha.core.NioFileIo;
import io.flinkfleet.ha.core.PvcHaLayout;
import io.flinkfleet.ha.core.PvcHaMetrics;
import io.flinkfleet.ha.core.WriteStep;

import java.io.IOException;
import java.nio.file.Path;

/**
 * One "JobManager incarnation" on a metadata root: its own epoch, and a fault seam to crash or
 * fail its writes. A second fixture on the same root plays the restarted JobManager.
 */
final class PvcTestFixture {
    final Path root;
    final PvcHaLayout layout;
    final EpochFence fence;
    volatile FaultSeam seam = FaultSeam.NONE;
    /** Where the file operations go; a test swaps in a power-cut or failing double. */
    volatile FileIo io = NioFileIo.INSTANCE;
    /** This JobManager's clock for its HA metrics: moved only by the test. */
    final java.util.concurrent.atomic.AtomicLong clock = new java.util.concurrent.atomic.AtomicLong();
    final PvcHaMetrics metrics = new PvcHaMetrics(clock::get);
    final DurableFiles files =
            new DurableFiles((step, target) -> seam.after(step, target), new ForwardingFileIo(() -> io), metrics);

    PvcTestFixture(Path root) throws IOException {
        this(root, true);
    }

    private PvcTestFixture(Path root, boolean takeEpoch) throws IOException {
        this.root = root;
        this.layout = new PvcHaLayout(root.resolve("meta"));
        this.fence = new EpochFence(layout.epochs(), files);
        if (takeEpoch) {
            fence.acquire();
        }
    }

    /** A JobManager that has not taken an epoch: its leader election driver takes it under the lock. */
    static PvcTestFixture contender(Path root) throws IOException {
        return new PvcTestFixture(root, false);
    }

    /** The next JobManager on the same volume (same file IO double, new epoch). */
    PvcTestFixture restart() throws IOException {
        PvcTestFixture next = new PvcTestFixture(root, false);
        next.io = io;
        next.fence.acquire();
        return next;
    }

    org.apache.flink.core.fs.Path storage() {
        return new org.apache.flink.core.fs.Path(root.resolve("storage").toUri());
    }

    /** State in separate files (inlining off), to observe writes and discards of state files. */
    <T extends java.io.Serializable> PvcStateHandleStore<T> store(String dir) {
        return store(dir, 0);
    }

    <T extends java.io.Serializable> PvcStateHandleStore<T> store(String dir, long inlineLimit) {
        return new PvcStateHandleStore<>(new FileRecordStore(layout.root().resolve(dir), fence, files),
                new DurableStateStorageHelper<>(storage(), "state", inlineLimit, files));
    }

    /** Crash (no cleanup, as SIGKILL) after the given step, once. */
    void crashAfter(WriteStep crashAt) {
        seam = (step, target) -> {
            if (step == crashAt) {
                seam = FaultSeam.NONE;
                throw new SimulatedCrash(step);
            }
        };
    }

    /** An I/O error after the given step, once. */
    void failAfter(WriteStep failAt) {
        seam = (step, target) -> {
            if (step == failAt) {
                seam = FaultSeam.NONE;
                throw new IOException("injected I/O error after " + step);
            }
        };
    }

    static final class SimulatedCrash extends Error {
        private static final long serialVersionUID = 1L;

        SimulatedCrash(WriteStep step) {
            super("simulated crash after " + step);
        }
    }
}
