package io.flinkfleet.ha.${flinkfleet.adapter.package};

import io.flinkfleet.ha.core.DurableCounter;

import org.apache.flink.api.common.JobStatus;
import org.apache.flink.runtime.checkpoint.CheckpointIDCounter;
import org.apache.flink.util.FlinkRuntimeException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.concurrent.CompletableFuture;

/**
 * Checkpoint id counter persisted in {@code jobs/<job-id>/checkpoint-counter}. Each id handed
 * out is durable first, so ids continue after a JobManager crash. The file is removed only when
 * the job reaches a globally terminal state.
 */
public class PvcCheckpointIDCounter implements CheckpointIDCounter {
    private static final Logger LOG = LoggerFactory.getLogger(PvcCheckpointIDCounter.class);

    private final DurableCounter counter;
    private boolean running;

    public PvcCheckpointIDCounter(DurableCounter counter) {
        this.counter = counter;
    }

    @Override
    public void start() {
        running = true;
    }

    @Override
    public CompletableFuture<Void> shutdown(JobStatus jobStatus) {
        if (!running) {
            return CompletableFuture.completedFuture(null);
        }
        running = false;
        if (jobStatus.isGloballyTerminalState()) {
            try {
                LOG.info("Removing checkpoint counter, job reached {}.", jobStatus);
                counter.remove();
            } catch (IOException e) {
                return CompletableFuture.failedFuture(e);
            }
        }
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public long getAndIncrement() throws Exception {
        return counter.getAndIncrement();
    }

    @Override
    public long get() {
        try {
            return counter.get();
        } catch (IOException e) {
            throw new FlinkRuntimeException("Could not read the checkpoint counter", e);
        }
    }

    @Override
    public void setCount(long newId) throws Exception {
        counter.set(newId);
    }
}
