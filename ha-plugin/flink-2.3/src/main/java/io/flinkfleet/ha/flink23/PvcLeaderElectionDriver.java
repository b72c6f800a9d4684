package io.flinkfleet.ha.flink23;

import io.flinkfleet.ha.core.EpochFence;
import io.flinkfleet.ha.core.FencedException;
import io.flinkfleet.ha.core.FileRecordStore;
import io.flinkfleet.ha.core.LeaderFileServer;
import io.flinkfleet.ha.core.LeaderRecord;

import org.apache.flink.runtime.leaderelection.LeaderElectionDriver;
import org.apache.flink.runtime.leaderelection.LeaderInformation;
import org.apache.flink.util.concurrent.ExecutorThreadFactory;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Single-JobManager leader election: the JobManager that took the newest epoch is the leader,
 * at once — there is nobody to wait for (no session to expire, no lease to run out).
 *
 * <p>Leadership ends only when a newer epoch appears (a second JobManager on the same volume):
 * the watch then revokes leadership and reports a {@link FencedException} through
 * {@code onError}, which makes the JobManager exit. Leader information is written per component
 * to {@code leader/<component>}, fenced like every other write. A standby mode would be another
 * driver (lease file on a ReadWriteMany volume) behind the same factory.
 */
public class PvcLeaderElectionDriver implements LeaderElectionDriver {
    private static final Logger LOG = LoggerFactory.getLogger(PvcLeaderElectionDriver.class);

    private final FileRecordStore leaders;
    private final EpochFence fence;
    private final Listener listener;
    private final ScheduledExecutorService executor;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicBoolean fencedReported = new AtomicBoolean(false);
    private volatile boolean granted;
    private final LeaderFileServer server;

    public PvcLeaderElectionDriver(FileRecordStore leaders, EpochFence fence, Duration pollInterval, Listener listener)
            throws IOException {
        this(leaders, fence, pollInterval, listener, null);
    }

    /**
     * Takes the next epoch (the only blocking I/O), then grants leadership asynchronously.
     *
     * @param server leader file server to stop with this driver, or null
     */
    public PvcLeaderElectionDriver(FileRecordStore leaders, EpochFence fence, Duration pollInterval, Listener listener,
            @javax.annotation.Nullable LeaderFileServer server) throws IOException {
        this.server = server;
        this.leaders = leaders;
        this.fence = fence;
        this.listener = listener;
        long epoch = fence.acquire();
        LOG.info("Took HA epoch {} ({}).", epoch, fence);
        this.executor = Executors.newSingleThreadScheduledExecutor(new ExecutorThreadFactory("pvc-ha-leader-election"));
        // Granting from our own thread keeps the service's lock out of the constructor's stack.
        executor.execute(this::grant);
        long ms = pollInterval.toMillis();
        executor.scheduleWithFixedDelay(this::watchFence, ms, ms, TimeUnit.MILLISECONDS);
    }

    private void grant() {
        if (!running.get()) {
            return;
        }
        if (fence.isFenced()) {
            reportFenced();
            return;
        }
        granted = true;
        listener.onGrantLeadership(UUID.randomUUID());
    }

    private void watchFence() {
        if (running.get() && fence.isFenced()) {
            reportFenced();
        }
    }

    private void reportFenced() {
        if (fencedReported.compareAndSet(false, true)) {
            granted = false;
            LOG.error("HA epoch {} was superseded; giving up leadership.", fence.epoch());
            listener.onRevokeLeadership();
            listener.onError(new FencedException(fence.epoch(), "a newer epoch was taken"));
        }
    }

    @Override
    public boolean hasLeadership() {
        return running.get() && granted && !fence.isFenced();
    }

    @Override
    public void publishLeaderInformation(String componentId, LeaderInformation leaderInformation) {
        if (leaderInformation.isEmpty()) {
            deleteLeaderInformation(componentId);
            return;
        }
        try {
            leaders.write(componentId, 1, false,
                    new LeaderRecord(leaderInformation.getLeaderAddress(), leaderInformation.getLeaderSessionID()).encode());
            LOG.debug("Published leader {} for {}.", leaderInformation, componentId);
        } catch (IOException e) {
            listener.onError(e);
        }
    }

    /** Deletes only a leader file this epoch wrote; never another JobManager's (FLINK-40114). */
    @Override
    public void deleteLeaderInformation(String componentId) {
        try {
            new PvcLeaderElectionDriverDeleter(leaders, fence).deleteOwn(componentId);
        } catch (IOException e) {
            listener.onError(e);
        }
    }

    @Override
    public void close() {
        if (running.compareAndSet(true, false)) {
            LOG.info("Closing {}.", this);
            executor.shutdownNow();
            if (server != null) {
                server.close();
            }
        }
    }

    @Override
    public String toString() {
        return "PvcLeaderElectionDriver{" + leaders.directory() + ", " + fence + "}";
    }
}
