package io.flinkfleet.ha.${flinkfleet.adapter.package};

import io.flinkfleet.ha.core.CorruptHaFileException;
import io.flinkfleet.ha.core.EpochFence;
import io.flinkfleet.ha.core.FencedException;
import io.flinkfleet.ha.core.FileRecordStore;
import io.flinkfleet.ha.core.HaRecord;
import io.flinkfleet.ha.core.LeaderFileServer;
import io.flinkfleet.ha.core.LeaderRecord;
import io.flinkfleet.ha.core.LeadershipLock;

import org.apache.flink.runtime.leaderelection.LeaderElectionDriver;
import org.apache.flink.runtime.leaderelection.LeaderInformation;
import org.apache.flink.util.Preconditions;
import org.apache.flink.util.concurrent.ExecutorThreadFactory;
import org.apache.flink.util.function.ThrowingRunnable;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Leader election by an OS lock on the volume: the JobManager holding the exclusive
 * {@link LeadershipLock} on {@code <root>/leader.lock} is the leader, for as long as it holds it.
 * Any number of JobManagers may run: the others block on the lock (on this driver's thread) and
 * the first to get it when the leader's process dies (the kernel releases the lock, SIGKILL
 * included) takes the next epoch under the lock and becomes leader. There is no session or
 * lease to wait for, and no "newest wins": a JobManager started later never displaces a live
 * leader.
 *
 * <p>Leadership ends when the lock is lost or a newer epoch appears (the epoch fence, a safety
 * net): the watch then revokes leadership and reports a {@link FencedException} through
 * {@code onError}, which makes the JobManager exit. Every write checks the lock and the epoch
 * right before it commits. Leader information is written per component to
 * {@code leader/<component>}; a record of ours that someone else overwrote or deleted is
 * rewritten at the next watch tick.
 */
public class PvcLeaderElectionDriver implements LeaderElectionDriver {
    private static final Logger LOG = LoggerFactory.getLogger(PvcLeaderElectionDriver.class);

    private final FileRecordStore leaders;
    private final EpochFence fence;
    private final LeadershipLock lock;
    private final Listener listener;
    private final ScheduledExecutorService executor;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicBoolean fencedReported = new AtomicBoolean(false);
    private final Map<String, LeaderRecord> published = new ConcurrentHashMap<>();
    private final LeaderFileServer server;
    private final ThrowingRunnable<IOException> onLockAcquired;
    private final long pollMillis;
    private volatile boolean granted;

    /**
     * Starts contending for the lock on this driver's own thread; returns at once.
     *
     * @param server leader file server to stop with this driver, or null
     * @param onLockAcquired runs once the epoch is taken, before leadership is granted (removal
     *     of a crashed writer's leftovers, which only the leader may do)
     */
    public PvcLeaderElectionDriver(FileRecordStore leaders, EpochFence fence, LeadershipLock lock, Duration pollInterval,
            Listener listener, @javax.annotation.Nullable LeaderFileServer server,
            ThrowingRunnable<IOException> onLockAcquired) {
        this.leaders = Preconditions.checkNotNull(leaders);
        this.fence = Preconditions.checkNotNull(fence);
        this.lock = Preconditions.checkNotNull(lock);
        this.listener = Preconditions.checkNotNull(listener);
        this.server = server;
        this.onLockAcquired = Preconditions.checkNotNull(onLockAcquired);
        this.pollMillis = pollInterval.toMillis();
        this.executor = Executors.newSingleThreadScheduledExecutor(new ExecutorThreadFactory("pvc-ha-leader-election"));
        executor.execute(this::campaign);
    }

    private void campaign() {
        try {
            if (!lock.isHeld()) {
                LOG.info("Waiting for the leadership lock {}.", lock.file());
                fence.metrics().lockWaitStarted();
                try {
                    lock.acquire();
                } finally {
                    fence.metrics().lockWaitEnded();
                }
            }
            fence.attachLock(lock);
            long epoch = fence.acquire();
            LOG.info("Holding the leadership lock {}; took HA epoch {} ({}).", lock.file(), epoch, fence);
            onLockAcquired.run();
        } catch (InterruptedException e) {
            if (running.get()) {
                listener.onError(e);
            }
            return;
        } catch (Exception e) {
            if (running.get()) {
                LOG.error("Could not take leadership on {}.", lock.file(), e);
                listener.onError(e);
            }
            return;
        }
        grant();
        executor.scheduleWithFixedDelay(this::watch, pollMillis, pollMillis, TimeUnit.MILLISECONDS);
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
        fence.metrics().leadershipGranted(fence.epoch());
        listener.onGrantLeadership(UUID.randomUUID());
    }

    private void watch() {
        if (!running.get()) {
            return;
        }
        if (fence.isFenced()) {
            reportFenced();
            return;
        }
        repairLeaderRecords();
    }

    /** Rewrites a record of ours that was overwritten, deleted or damaged by someone else. */
    private void repairLeaderRecords() {
        for (Map.Entry<String, LeaderRecord> e : published.entrySet()) {
            String component = e.getKey();
            try {
                Optional<HaRecord> current;
                try {
                    current = leaders.read(component);
                } catch (CorruptHaFileException corrupt) {
                    current = Optional.empty();
                }
                boolean ours = current.isPresent() && current.get().epoch() == fence.epoch()
                        && e.getValue().equals(LeaderRecord.decode(leaders.pathOf(component), current.get().payload()));
                if (!ours && published.get(component) == e.getValue()) {
                    LOG.warn("Leader record {} was changed or removed by someone else; rewriting it.",
                            leaders.pathOf(component));
                    leaders.write(component, 1, false, e.getValue().encode());
                }
            } catch (FencedException fenced) {
                reportFenced();
                return;
            } catch (IOException io) {
                listener.onError(io);
            }
        }
    }

    private void reportFenced() {
        if (fencedReported.compareAndSet(false, true)) {
            granted = false;
            fence.metrics().leadershipLost();
            if (lock.isClosed()) {
                // Given up on purpose (the JobManager is stopping): no error, nothing to fail.
                LOG.info("Gave the leadership lock {} up; epoch {} ends.", lock.file(), fence.epoch());
                listener.onRevokeLeadership();
                return;
            }
            LOG.error("Lost leadership (lock {} or epoch {} superseded); giving up.", lock.file(), fence.epoch());
            listener.onRevokeLeadership();
            listener.onError(new FencedException(fence.epoch(), "the leadership lock was lost or a newer epoch taken"));
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
            LeaderRecord record =
                    new LeaderRecord(leaderInformation.getLeaderAddress(), leaderInformation.getLeaderSessionID());
            leaders.write(componentId, 1, false, record.encode());
            published.put(componentId, record);
            LOG.debug("Published leader {} for {}.", leaderInformation, componentId);
        } catch (IOException e) {
            listener.onError(e);
        }
    }

    /** Deletes only a leader file this epoch wrote; never another JobManager's (FLINK-40114). */
    @Override
    public void deleteLeaderInformation(String componentId) {
        published.remove(componentId);
        try {
            new PvcLeaderElectionDriverDeleter(leaders, fence).deleteOwn(componentId);
        } catch (FencedException e) {
            if (!lock.isClosed()) {
                listener.onError(e);
            }
            // Otherwise leadership was given up on purpose: the next leader owns the record.
        } catch (IOException e) {
            listener.onError(e);
        }
    }

    @Override
    public void close() {
        if (running.compareAndSet(true, false)) {
            LOG.info("Closing {}.", this);
            if (granted) {
                fence.metrics().leadershipLost();
            }
            granted = false;
            if (!lock.isHeld()) {
                lock.close(); // ends a standby's wait
            }
            // A held lock stays held: Flink closes the driver when its last contender leaves, then
            // cleans up the HA data as the leader; the HA services release the lock when they close.
            executor.shutdownNow();
            if (server != null) {
                LOG.info("Stopping the leader file server on port {}.", server.port());
                server.close();
            }
        }
    }

    @org.apache.flink.annotation.VisibleForTesting
    LeadershipLock leadershipLock() {
        return lock;
    }

    @Override
    public String toString() {
        return "PvcLeaderElectionDriver{" + leaders.directory() + ", " + lock + ", " + fence + "}";
    }
}
