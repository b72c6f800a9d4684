package io.flinkfleet.ha.core;

import java.math.BigDecimal;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * The HA backend's own metrics, rendered in the Prometheus text format 0.0.4 and served by
 * {@link PvcHaMetricsServer}. Flink hands HA services no {@code MetricGroup}
 * ({@code HighAvailabilityServicesFactory#createHAServices} gets a configuration and an
 * executor only) and its Prometheus reporter lives in a plugin class loader, so the plugin keeps
 * these few values itself.
 *
 * <p>One instance per JVM, reached through {@link DurableFiles#metrics()}: the durable writes
 * time their commits, the {@link EpochFence} counts its refusals and records its epoch, and the
 * leader election driver records the lock wait and leadership. Instances nobody serves (readers
 * in TaskManagers and clients) cost a counter increment now and then.
 *
 * <p>Thread-safety: updated from the leader election thread, I/O threads and fence checks, read
 * by the server's thread; scalars are atomic/volatile, the histogram and the lock wait are
 * guarded by their monitors. Time comes from an injected nanosecond clock (tests use a fake one).
 */
public final class PvcHaMetrics {
    /** Upper bounds (seconds) of the commit latency histogram's buckets; +Inf is added. */
    static final double[] COMMIT_BUCKETS = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

    public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private final LongSupplier nanoClock;
    private volatile boolean leader;
    private volatile long epoch;
    private final AtomicLong acquisitions = new AtomicLong();
    private final AtomicLong failovers = new AtomicLong();
    private final AtomicLong fenceRefusals = new AtomicLong();

    private final Object lockWaitMon = new Object();
    // @GuardedBy("lockWaitMon")
    private long waitStartedNanos = -1;
    // @GuardedBy("lockWaitMon")
    private long lastWaitNanos;

    // @GuardedBy("this")
    private final long[] commitBuckets = new long[COMMIT_BUCKETS.length];
    // @GuardedBy("this")
    private long commitCount;
    // @GuardedBy("this")
    private long commitSumNanos;

    public PvcHaMetrics(LongSupplier nanoClock) {
        this.nanoClock = nanoClock;
    }

    public static PvcHaMetrics create() {
        return new PvcHaMetrics(System::nanoTime);
    }

    public long nanoTime() {
        return nanoClock.getAsLong();
    }

    /** The JobManager starts blocking on the leadership lock. */
    public void lockWaitStarted() {
        synchronized (lockWaitMon) {
            waitStartedNanos = nanoTime();
        }
    }

    /** The wait for the lock ended (acquired, or given up because the JobManager stops). */
    public void lockWaitEnded() {
        synchronized (lockWaitMon) {
            if (waitStartedNanos >= 0) {
                lastWaitNanos = nanoTime() - waitStartedNanos;
                waitStartedNanos = -1;
            }
        }
    }

    /** The fence took {@code epoch} (under the lock). */
    public void epochTaken(long epoch) {
        this.epoch = epoch;
    }

    /**
     * Leadership granted under {@code epoch}. An epoch above 1 means an earlier leader existed
     * whose data this one takes over: a failover (a restarted JobManager or a standby).
     */
    public void leadershipGranted(long epoch) {
        this.epoch = epoch;
        leader = true;
        acquisitions.incrementAndGet();
        if (epoch > 1) {
            failovers.incrementAndGet();
        }
    }

    public void leadershipLost() {
        leader = false;
    }

    /** A durable commit that started at {@code startNanos} (from {@link #nanoTime()}) completed. */
    public void commitCompleted(long startNanos) {
        long nanos = Math.max(0, nanoTime() - startNanos);
        double seconds = nanos / 1e9;
        synchronized (this) {
            for (int i = 0; i < COMMIT_BUCKETS.length; i++) {
                if (seconds <= COMMIT_BUCKETS[i]) {
                    commitBuckets[i]++;
                }
            }
            commitCount++;
            commitSumNanos += nanos;
        }
    }

    /** The fence refused a write (or a read of newer data): this writer no longer leads. */
    public void fenceRefused() {
        fenceRefusals.incrementAndGet();
    }

    /** All metrics in the Prometheus text format 0.0.4 (HELP and TYPE line before each family). */
    public String scrape() {
        StringBuilder out = new StringBuilder(2048);
        family(out, "flinkfleet_ha_leader", "gauge",
                "1 while this JobManager leads (holds the leadership lock and its epoch), 0 as a standby or after losing leadership.");
        sample(out, "flinkfleet_ha_leader", "", leader ? 1 : 0);
        family(out, "flinkfleet_ha_epoch", "gauge", "Fencing epoch this JobManager took; 0 before it took one.");
        sample(out, "flinkfleet_ha_epoch", "", epoch);
        long waiting;
        long waitNanos;
        synchronized (lockWaitMon) {
            waiting = waitStartedNanos >= 0 ? 1 : 0;
            waitNanos = waitStartedNanos >= 0 ? nanoTime() - waitStartedNanos : lastWaitNanos;
        }
        family(out, "flinkfleet_ha_lock_waiting", "gauge", "1 while this JobManager waits for the leadership lock (a standby).");
        sample(out, "flinkfleet_ha_lock_waiting", "", waiting);
        family(out, "flinkfleet_ha_lock_wait_seconds", "gauge",
                "How long this JobManager waited for the leadership lock: the current wait while waiting, else the last one.");
        out.append("flinkfleet_ha_lock_wait_seconds ").append(seconds(waitNanos)).append('\n');
        family(out, "flinkfleet_ha_leadership_acquisitions_total", "counter",
                "Times this JobManager became leader.");
        sample(out, "flinkfleet_ha_leadership_acquisitions_total", "", acquisitions.get());
        family(out, "flinkfleet_ha_failovers_total", "counter",
                "Times this JobManager became leader over an earlier epoch's data (restart or standby takeover).");
        sample(out, "flinkfleet_ha_failovers_total", "", failovers.get());
        family(out, "flinkfleet_ha_fence_refusals_total", "counter",
                "HA writes refused by the fence (leadership lock lost or a newer epoch exists).");
        sample(out, "flinkfleet_ha_fence_refusals_total", "", fenceRefusals.get());
        synchronized (this) {
            family(out, "flinkfleet_ha_commit_seconds", "histogram",
                    "Duration of durable HA commits: temp write, fsync, fence check, rename, directory fsync.");
            for (int i = 0; i < COMMIT_BUCKETS.length; i++) {
                sample(out, "flinkfleet_ha_commit_seconds_bucket", "{le=\"" + plain(COMMIT_BUCKETS[i]) + "\"}",
                        commitBuckets[i]);
            }
            sample(out, "flinkfleet_ha_commit_seconds_bucket", "{le=\"+Inf\"}", commitCount);
            out.append("flinkfleet_ha_commit_seconds_sum ").append(seconds(commitSumNanos)).append('\n');
            sample(out, "flinkfleet_ha_commit_seconds_count", "", commitCount);
        }
        return out.toString();
    }

    private static void family(StringBuilder out, String name, String type, String help) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    private static void sample(StringBuilder out, String name, String labels, long value) {
        out.append(name).append(labels).append(' ').append(value).append('\n');
    }

    private static String seconds(long nanos) {
        return BigDecimal.valueOf(nanos, 9).stripTrailingZeros().toPlainString();
    }

    private static String plain(double d) {
        return BigDecimal.valueOf(d).stripTrailingZeros().toPlainString();
    }
}
