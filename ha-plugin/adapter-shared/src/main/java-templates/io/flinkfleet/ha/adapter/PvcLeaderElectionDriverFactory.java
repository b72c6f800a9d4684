package io.flinkfleet.ha.${flinkfleet.adapter.package};

import io.flinkfleet.ha.core.DurableFiles;
import io.flinkfleet.ha.core.EpochFence;
import io.flinkfleet.ha.core.FileRecordStore;
import io.flinkfleet.ha.core.LeaderFileServer;
import io.flinkfleet.ha.core.LeadershipLock;
import io.flinkfleet.ha.core.PvcHaLayout;
import io.flinkfleet.ha.core.PvcHaMetricsServer;

import org.apache.flink.runtime.leaderelection.LeaderElectionDriver;
import org.apache.flink.runtime.leaderelection.LeaderElectionDriverFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;

/** Creates the {@link PvcLeaderElectionDriver}; only ever called in the JobManager. */
public class PvcLeaderElectionDriverFactory implements LeaderElectionDriverFactory {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(PvcLeaderElectionDriverFactory.class);
    private final PvcHaLayout layout;
    private final EpochFence fence;
    private final DurableFiles files;
    private final Duration pollInterval;
    private final int leaderServerPort;
    private final String leaderServerBindHost;
    /**
     * The lock outlives each driver: Flink closes the driver when its last contender leaves (at
     * shutdown, before it cleans up the HA data), but the JobManager leads, and may clean up,
     * until its HA services close ({@link #releaseLock()}).
     */
    private final java.util.concurrent.atomic.AtomicReference<LeadershipLock> lock =
            new java.util.concurrent.atomic.AtomicReference<>();
    private final int metricsPort;
    /**
     * Started with the first driver (this factory is used in the JobManager only, standbys
     * included, so a standby reports itself while it waits) and stopped with the HA services:
     * the values outlive any one driver.
     */
    // @GuardedBy("this")
    private PvcHaMetricsServer metricsServer;
    /** Removes the hook that gives the lock up when the JVM begins to stop. */
    // @GuardedBy("this")
    private Runnable removeStopHook;

    public PvcLeaderElectionDriverFactory(PvcHaLayout layout, EpochFence fence, DurableFiles files, Duration pollInterval) {
        this(layout, fence, files, pollInterval, 0, "0.0.0.0");
    }

    public PvcLeaderElectionDriverFactory(PvcHaLayout layout, EpochFence fence, DurableFiles files, Duration pollInterval,
            int leaderServerPort, String leaderServerBindHost) {
        this(layout, fence, files, pollInterval, leaderServerPort, leaderServerBindHost, 0);
    }

    /**
     * @param leaderServerPort port of the leader file server, 0 for none
     * @param metricsPort port of the HA metrics endpoint ({@link PvcHaMetricsServer}), 0 or
     *     negative for none; bound to {@code bindHost} like the leader server
     */
    public PvcLeaderElectionDriverFactory(PvcHaLayout layout, EpochFence fence, DurableFiles files, Duration pollInterval,
            int leaderServerPort, String bindHost, int metricsPort) {
        this.layout = layout;
        this.fence = fence;
        this.files = files;
        this.pollInterval = pollInterval;
        this.leaderServerPort = leaderServerPort;
        this.leaderServerBindHost = bindHost;
        this.metricsPort = metricsPort;
    }

    @Override
    public LeaderElectionDriver create(LeaderElectionDriver.Listener listener) throws Exception {
        startMetricsServer();
        LeaderFileServer server = leaderServerPort > 0
                ? LeaderFileServer.start(leaderServerBindHost, leaderServerPort, layout.leaders())
                : null;
        if (server != null) {
            LOG.info("Leader file server listening on {}:{}.", leaderServerBindHost, server.port());
        }
        try {
            return new PvcLeaderElectionDriver(new FileRecordStore(layout.leaders(), fence, files), fence,
                    lockForDriver(), pollInterval, listener, server,
                    () -> {
                        removeCrashLeftovers(layout.root());
                        try {
                            PvcPendingDeletions.collect(layout.root(), fence, files);
                        } catch (java.io.IOException | RuntimeException e) {
                            throw e;
                        } catch (Exception e) {
                            throw new java.io.IOException("Could not finish pending HA deletions", e);
                        }
                    });
        } catch (RuntimeException e) {
            if (server != null) {
                server.close();
            }
            throw e;
        }
    }

    private synchronized LeadershipLock lockForDriver() {
        LeadershipLock l = lock.get();
        if (l == null || l.isClosed()) {
            l = new LeadershipLock(layout.lockFile());
            lock.set(l);
            installStopHook(l);
        }
        return l;
    }

    /**
     * On SIGTERM (a pod deleted, even with grace period 0, gets SIGTERM and only seconds later
     * SIGKILL) the lock is given up at once, under the fence's commit exclusion, so a standby
     * leads without waiting for this JVM's death; this process's later commits are refused.
     */
    // @GuardedBy("this")
    private void installStopHook(LeadershipLock l) {
        if (removeStopHook != null) {
            removeStopHook.run(); // its lock is closed already
        }
        removeStopHook = fence.releaseLockOnJvmStop(l,
                () -> LOG.info("The JobManager is stopping: gave the leadership lock {} up.", l.file()));
    }

    private synchronized void startMetricsServer() throws java.io.IOException {
        if (metricsPort > 0 && metricsServer == null) {
            metricsServer = PvcHaMetricsServer.start(leaderServerBindHost, metricsPort, files.metrics());
            LOG.info("HA metrics (Prometheus) on {}:{}/metrics.", leaderServerBindHost, metricsServer.port());
        }
    }

    /** Gives up leadership for good and stops the metrics endpoint: called when the HA services close. */
    public synchronized void releaseLock() {
        LeadershipLock l = lock.getAndSet(null);
        if (l != null) {
            fence.releaseLock(l);
        }
        if (removeStopHook != null) {
            removeStopHook.run();
            removeStopHook = null;
        }
        if (metricsServer != null) {
            metricsServer.close();
            metricsServer = null;
        }
    }

    /** Temp files of a writer killed mid-write; only the new leader may remove them. */
    private void removeCrashLeftovers(Path root) throws java.io.IOException {
        if (!Files.isDirectory(root)) {
            return;
        }
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : (Iterable<Path>) all::iterator) {
                if (p.getFileName().toString().startsWith(DurableFiles.TEMP_PREFIX)) {
                    files.io().delete(p);
                }
            }
        }
    }
}
