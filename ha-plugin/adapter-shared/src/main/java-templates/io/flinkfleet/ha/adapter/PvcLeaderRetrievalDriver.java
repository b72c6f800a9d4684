package io.flinkfleet.ha.${flinkfleet.adapter.package};

import io.flinkfleet.ha.core.CorruptHaFileException;
import io.flinkfleet.ha.core.HaRecord;
import io.flinkfleet.ha.core.LeaderDirectoryWatch;
import io.flinkfleet.ha.core.LeaderRecord;
import io.flinkfleet.ha.core.LeaderRecordSource;

import org.apache.flink.runtime.leaderelection.LeaderInformation;
import org.apache.flink.runtime.leaderretrieval.LeaderRetrievalDriver;
import org.apache.flink.runtime.leaderretrieval.LeaderRetrievalEventHandler;
import org.apache.flink.runtime.leaderretrieval.LeaderRetrievalException;
import org.apache.flink.runtime.rpc.FatalErrorHandler;
import org.apache.flink.util.concurrent.ExecutorThreadFactory;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Reads {@code leader/<component>} (on the volume, or through the JobManager's leader server)
 * and reports changes. On the volume it reads again as soon as the kernel reports the file
 * changed ({@link LeaderDirectoryWatch}): a TaskManager sees a new leader within milliseconds,
 * not up to one poll interval later, which is on the failover's critical path (the TaskManager
 * offers its slots to the new JobMaster only once it has seen it). It also polls every poll
 * interval, because the watch does not see writes from other nodes on network volumes and
 * cannot watch a directory that does not exist yet (it is retried at each poll).
 */
public class PvcLeaderRetrievalDriver implements LeaderRetrievalDriver {
    private static final Logger LOG = LoggerFactory.getLogger(PvcLeaderRetrievalDriver.class);

    private final LeaderRecordSource leaders;
    private final String componentId;
    private final LeaderRetrievalEventHandler handler;
    private final FatalErrorHandler fatalErrorHandler;
    private final ScheduledExecutorService executor;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private LeaderInformation last = LeaderInformation.empty();
    private volatile LeaderDirectoryWatch watch;

    public PvcLeaderRetrievalDriver(
            LeaderRecordSource leaders,
            String componentId,
            Duration pollInterval,
            LeaderRetrievalEventHandler handler,
            FatalErrorHandler fatalErrorHandler) {
        this.leaders = leaders;
        this.componentId = componentId;
        this.handler = handler;
        this.fatalErrorHandler = fatalErrorHandler;
        this.executor = Executors.newSingleThreadScheduledExecutor(
                new ExecutorThreadFactory("pvc-ha-leader-retrieval-" + componentId));
        executor.scheduleWithFixedDelay(this::poll, 0, pollInterval.toMillis(), TimeUnit.MILLISECONDS);
    }

    void poll() {
        if (!running.get()) {
            return;
        }
        if (watch == null) {
            // Before the first read: a change between the two is then either read or reported.
            watch = startWatch();
            if (!running.get() && watch != null) {
                watch.close(); // close() ran meanwhile and saw no watch to close
            }
        }
        try {
            Optional<HaRecord> record = leaders.read(componentId);
            LeaderInformation now = LeaderInformation.empty();
            if (record.isPresent() && !record.get().markedForDeletion()) {
                LeaderRecord leader = LeaderRecord.decode(Path.of(leaders + "/" + componentId), record.get().payload());
                now = LeaderInformation.known(leader.sessionId(), leader.address());
            }
            if (!now.equals(last)) {
                last = now;
                handler.notifyLeaderAddress(now);
            }
        } catch (CorruptHaFileException e) {
            // Atomic renames never expose a torn file: this is real damage, fail loudly.
            running.set(false);
            if (watch != null) {
                watch.close();
            }
            fatalErrorHandler.onFatalError(new LeaderRetrievalException(e));
        } catch (IOException e) {
            // Transient volume errors: keep the last known leader and retry next tick.
            LOG.warn("Could not read leader file for {}; retrying.", componentId, e);
        }
    }

    private LeaderDirectoryWatch startWatch() {
        Optional<Path> dir = leaders.watchableDirectory();
        if (dir.isEmpty()) {
            return null;
        }
        try {
            // poll() stays on the executor's one thread: `last` needs no lock.
            return LeaderDirectoryWatch.start(dir.get(), componentId, () -> {
                try {
                    executor.execute(this::poll);
                } catch (RejectedExecutionException closed) {
                    // the driver closed between the event and now
                }
            });
        } catch (IOException | RuntimeException e) {
            LOG.debug("Cannot watch {} yet; polling only.", dir.get(), e);
            return null;
        }
    }

    @Override
    public void close() {
        if (running.compareAndSet(true, false)) {
            executor.shutdownNow();
            LeaderDirectoryWatch watch = this.watch;
            if (watch != null) {
                watch.close();
            }
        }
    }

    @Override
    public String toString() {
        return "PvcLeaderRetrievalDriver{" + leaders + "/" + componentId + "}";
    }
}
