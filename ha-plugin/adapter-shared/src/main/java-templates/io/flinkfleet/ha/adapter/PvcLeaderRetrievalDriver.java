package io.flinkfleet.ha.${flinkfleet.adapter.package};

import io.flinkfleet.ha.core.CorruptHaFileException;
import io.flinkfleet.ha.core.HaRecord;
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
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Polls {@code leader/<component>} (on the volume, or through the JobManager's leader server)
 * every poll interval and reports changes. A new JobManager is
 * thus seen by TaskManagers within about one interval instead of after the 50 s heartbeat
 * timeout. Polling (not inotify) because inotify does not see writes from other nodes on
 * network volumes.
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
            fatalErrorHandler.onFatalError(new LeaderRetrievalException(e));
        } catch (IOException e) {
            // Transient volume errors: keep the last known leader and retry next tick.
            LOG.warn("Could not read leader file for {}; retrying.", componentId, e);
        }
    }

    @Override
    public void close() {
        if (running.compareAndSet(true, false)) {
            executor.shutdownNow();
        }
    }

    @Override
    public String toString() {
        return "PvcLeaderRetrievalDriver{" + leaders + "/" + componentId + "}";
    }
}
