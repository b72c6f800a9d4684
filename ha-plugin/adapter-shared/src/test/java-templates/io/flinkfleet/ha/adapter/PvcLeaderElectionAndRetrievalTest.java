package io.flinkfleet.ha.${flinkfleet.adapter.package};

import static org.assertj.core.api.Assertions.assertThat;

import io.flinkfleet.ha.core.EpochFence;
import io.flinkfleet.ha.core.FencedException;
import io.flinkfleet.ha.core.FileRecordStore;
import io.flinkfleet.ha.core.HaRecord;
import io.flinkfleet.ha.core.HttpLeaderRecordSource;
import io.flinkfleet.ha.core.LeaderFileServer;
import io.flinkfleet.ha.core.LeaderRecord;
import io.flinkfleet.ha.core.LeaderRecordSource;

import org.apache.flink.runtime.leaderelection.LeaderInformation;
import org.apache.flink.runtime.leaderretrieval.LeaderRetrievalDriver;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Leader election by the lock on the volume, and retrieval. No wall-clock bounds: every wait is
 * for an event (a listener event, a record seen by retrieval, a file changing), and the
 * {@link #WAIT} timeout only stops a hung test.
 */
class PvcLeaderElectionAndRetrievalTest {
    private static final Duration POLL = Duration.ofMillis(100);
    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir Path tmp;

    private static LeaderRecordSource volume(PvcTestFixture jm) {
        FileRecordStore readOnly = new FileRecordStore(jm.layout.leaders(), new EpochFence(jm.layout.epochs()), jm.files);
        return readOnly::read;
    }

    private final java.util.Map<PvcLeaderElectionDriver, PvcLeaderElectionDriverFactory> factories =
            new java.util.concurrent.ConcurrentHashMap<>();

    private PvcLeaderElectionDriver driver(PvcTestFixture jm, TestingLeaderElectionListener l) throws Exception {
        PvcLeaderElectionDriverFactory f = new PvcLeaderElectionDriverFactory(jm.layout, jm.fence, jm.files, POLL);
        PvcLeaderElectionDriver d = (PvcLeaderElectionDriver) f.create(l);
        factories.put(d, f);
        return d;
    }

    /** The JobManager shuts down: its driver closes, then its HA services release the lock. */
    private void shutDown(PvcLeaderElectionDriver d) {
        d.close();
        factories.get(d).releaseLock();
    }

    @org.junit.jupiter.api.AfterEach
    void releaseLocks() {
        factories.values().forEach(PvcLeaderElectionDriverFactory::releaseLock);
    }

    /** TaskManagers without the volume follow the leader through the JobManager's leader server. */
    @Test
    void retrievalThroughTheLeaderServer() throws Exception {
        PvcTestFixture jm = PvcTestFixture.contender(tmp);
        TestingLeaderElectionListener l = new TestingLeaderElectionListener();
        BlockingQueue<LeaderInformation> seen = new LinkedBlockingQueue<>();
        BlockingQueue<Throwable> fatal = new LinkedBlockingQueue<>();
        try (LeaderFileServer server = LeaderFileServer.start("127.0.0.1", 0, jm.layout.leaders());
                PvcLeaderElectionDriver d = driver(jm, l)) {
            LeaderRecordSource http = new HttpLeaderRecordSource(
                    List.of(URI.create("http://127.0.0.1:" + server.port() + "/")), Duration.ofSeconds(2));
            try (LeaderRetrievalDriver r = new PvcLeaderRetrievalDriverFactory(() -> http, "resource_manager", POLL)
                    .createLeaderRetrievalDriver(seen::add, fatal::add)) {
                UUID s = l.next(TestingLeaderElectionListener.Granted.class, WAIT).session();
                d.publishLeaderInformation("resource_manager", LeaderInformation.known(s, "pekko://rm"));
                assertThat(seen.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isEqualTo(LeaderInformation.known(s, "pekko://rm"));
                assertThat(fatal).isEmpty();
            }
        }
    }

    /**
     * The first contender gets the lock and leads; a second one waits while the first leads, and
     * takes over (new epoch, new address seen by retrieval) once the first lets go.
     */
    @Test
    void standbyTakesOverWhenTheLeaderLetsGoAndRetrievalFollows() throws Exception {
        PvcTestFixture jm = PvcTestFixture.contender(tmp);
        TestingLeaderElectionListener l = new TestingLeaderElectionListener();
        BlockingQueue<LeaderInformation> seen = new LinkedBlockingQueue<>();
        BlockingQueue<Throwable> fatal = new LinkedBlockingQueue<>();
        try (LeaderRetrievalDriver r = new PvcLeaderRetrievalDriverFactory(() -> volume(jm), "dispatcher", POLL)
                .createLeaderRetrievalDriver(seen::add, fatal::add)) {
            PvcLeaderElectionDriver d = driver(jm, l);
            UUID session = l.next(TestingLeaderElectionListener.Granted.class, WAIT).session();
            assertThat(d.hasLeadership()).isTrue();
            assertThat(d.leadershipLock().isHeld()).isTrue();
            long firstEpoch = jm.fence.epoch();
            d.publishLeaderInformation("dispatcher", LeaderInformation.known(session, "pekko://a"));
            assertThat(seen.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isEqualTo(LeaderInformation.known(session, "pekko://a"));

            PvcTestFixture standby = PvcTestFixture.contender(tmp);
            TestingLeaderElectionListener l2 = new TestingLeaderElectionListener();
            try (PvcLeaderElectionDriver d2 = driver(standby, l2)) {
                // The leader is alive: the standby neither leads nor took an epoch.
                assertThat(l2.pending()).isEmpty();
                assertThat(d2.hasLeadership()).isFalse();
                assertThat(standby.fence.isAcquired()).isFalse();
                assertThat(d.hasLeadership()).isTrue();

                shutDown(d); // the leader lets go (a dead process's lock is dropped by the kernel)
                UUID s2 = l2.next(TestingLeaderElectionListener.Granted.class, WAIT).session();
                assertThat(standby.fence.epoch()).isEqualTo(firstEpoch + 1);
                d2.publishLeaderInformation("dispatcher", LeaderInformation.known(s2, "pekko://b"));
                assertThat(seen.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isEqualTo(LeaderInformation.known(s2, "pekko://b"));
            }
            assertThat(fatal).isEmpty();
            assertThat(l.pending()).isEmpty(); // the old leader was never told to exit: no ping-pong
        }
    }

    /** A scrape of {@code metrics}, parsed to sample name → value (HELP/TYPE lines skipped). */
    private static java.util.Map<String, String> scrape(io.flinkfleet.ha.core.PvcHaMetrics metrics) {
        java.util.Map<String, String> samples = new java.util.HashMap<>();
        for (String line : metrics.scrape().split("\n")) {
            if (!line.startsWith("#")) {
                samples.put(line.substring(0, line.lastIndexOf(' ')), line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return samples;
    }

    private static void awaitSample(io.flinkfleet.ha.core.PvcHaMetrics metrics, String name, String value)
            throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!value.equals(scrape(metrics).get(name))) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(name + " never became " + value + ": " + metrics.scrape());
            }
            Thread.sleep(10);
        }
    }

    /**
     * The driver reports what it does: the leader leads under epoch 1 (no failover); a standby
     * waits on the lock (leader 0, waiting 1) and, once the leader lets go, leads under the next
     * epoch, counted as a failover, with the time it waited on its (fake) clock. The endpoint
     * started by the factory serves the same.
     */
    @Test
    void driverReportsLeadershipLockWaitAndFailoverInItsMetrics() throws Exception {
        PvcTestFixture jm = PvcTestFixture.contender(tmp);
        TestingLeaderElectionListener l = new TestingLeaderElectionListener();
        PvcLeaderElectionDriver d = driver(jm, l);
        l.next(TestingLeaderElectionListener.Granted.class, WAIT);
        assertThat(scrape(jm.metrics)).containsEntry("flinkfleet_ha_leader", "1").containsEntry("flinkfleet_ha_epoch", "1")
                .containsEntry("flinkfleet_ha_failovers_total", "0")
                .containsEntry("flinkfleet_ha_leadership_acquisitions_total", "1");

        PvcTestFixture standby = PvcTestFixture.contender(tmp);
        int port;
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        PvcLeaderElectionDriverFactory f = new PvcLeaderElectionDriverFactory(standby.layout, standby.fence,
                standby.files, POLL, 0, "127.0.0.1", port);
        TestingLeaderElectionListener l2 = new TestingLeaderElectionListener();
        try (PvcLeaderElectionDriver d2 = (PvcLeaderElectionDriver) f.create(l2)) {
            factories.put(d2, f);
            awaitSample(standby.metrics, "flinkfleet_ha_lock_waiting", "1");
            standby.clock.addAndGet(2_500_000_000L);
            String served = new String(URI.create("http://127.0.0.1:" + port + "/metrics").toURL().openStream()
                    .readAllBytes(), StandardCharsets.UTF_8);
            assertThat(served).contains("\nflinkfleet_ha_leader 0\n", "\nflinkfleet_ha_lock_waiting 1\n",
                    "\nflinkfleet_ha_lock_wait_seconds 2.5\n", "\nflinkfleet_ha_epoch 0\n");

            shutDown(d);
            l2.next(TestingLeaderElectionListener.Granted.class, WAIT);
            assertThat(scrape(standby.metrics)).containsEntry("flinkfleet_ha_leader", "1")
                    .containsEntry("flinkfleet_ha_epoch", "2")
                    .containsEntry("flinkfleet_ha_lock_waiting", "0")
                    .containsEntry("flinkfleet_ha_lock_wait_seconds", "2.5")
                    .containsEntry("flinkfleet_ha_failovers_total", "1")
                    .containsEntry("flinkfleet_ha_leadership_acquisitions_total", "1");
            assertThat(scrape(jm.metrics)).containsEntry("flinkfleet_ha_leader", "0");

            // A commit by the new leader is timed (its clock moves 1 ms inside the write).
            jm.clock.set(0);
            new FileRecordStore(standby.layout.executionPlans(), standby.fence,
                    new io.flinkfleet.ha.core.DurableFiles((step, target) -> {
                        if (step == io.flinkfleet.ha.core.WriteStep.TEMP_FSYNCED) {
                            standby.clock.addAndGet(1_000_000L);
                        }
                    }, io.flinkfleet.ha.core.NioFileIo.INSTANCE, standby.metrics)).write("e", 1, false, new byte[] {1});
            assertThat(scrape(standby.metrics)).containsEntry("flinkfleet_ha_commit_seconds_count", "1")
                    .containsEntry("flinkfleet_ha_commit_seconds_sum", "0.001");
        }
        f.releaseLock();
        assertThat(l2.pending()).isEmpty();
    }

    /** Closing a standby ends its wait quietly; the leader is untouched. */
    @Test
    void closingAStandbyEndsItsWait() throws Exception {
        TestingLeaderElectionListener l = new TestingLeaderElectionListener();
        TestingLeaderElectionListener l2 = new TestingLeaderElectionListener();
        try (PvcLeaderElectionDriver d = driver(PvcTestFixture.contender(tmp), l)) {
            l.next(TestingLeaderElectionListener.Granted.class, WAIT);
            PvcLeaderElectionDriver d2 = driver(PvcTestFixture.contender(tmp), l2);
            d2.close();
            assertThat(d.hasLeadership()).isTrue();
            assertThat(l2.pending()).isEmpty();
            // The next contender still gets the lock once the leader lets go.
            shutDown(d);
            TestingLeaderElectionListener l3 = new TestingLeaderElectionListener();
            try (PvcLeaderElectionDriver d3 = driver(PvcTestFixture.contender(tmp), l3)) {
                l3.next(TestingLeaderElectionListener.Granted.class, WAIT);
                assertThat(d3.hasLeadership()).isTrue();
            }
        }
    }

    /** A leader whose lock is lost gives up leadership and can no longer write. */
    @Test
    void lostLockRevokesLeadershipAndFencesWrites() throws Exception {
        PvcTestFixture jm = PvcTestFixture.contender(tmp);
        TestingLeaderElectionListener l = new TestingLeaderElectionListener();
        try (PvcLeaderElectionDriver d = driver(jm, l)) {
            UUID session = l.next(TestingLeaderElectionListener.Granted.class, WAIT).session();
            d.publishLeaderInformation("dispatcher", LeaderInformation.known(session, "pekko://old"));
            d.leadershipLock().loseForTesting();

            l.next(TestingLeaderElectionListener.Revoked.class, WAIT);
            assertThat(l.next(TestingLeaderElectionListener.Error.class, WAIT).error()).isInstanceOf(FencedException.class);
            assertThat(d.hasLeadership()).isFalse();
            d.publishLeaderInformation("dispatcher", LeaderInformation.known(session, "pekko://late"));
            assertThat(l.next(TestingLeaderElectionListener.Error.class, WAIT).error()).isInstanceOf(FencedException.class);
            assertThat(Files.readString(jm.layout.leaders().resolve("dispatcher"), StandardCharsets.ISO_8859_1))
                    .contains("pekko://old").doesNotContain("pekko://late");
        }
    }

    /** The epoch fence stays as a safety net: a newer epoch revokes leadership too. */
    @Test
    void newerEpochRevokesLeadership() throws Exception {
        PvcTestFixture jm = PvcTestFixture.contender(tmp);
        TestingLeaderElectionListener l = new TestingLeaderElectionListener();
        try (PvcLeaderElectionDriver d = driver(jm, l)) {
            l.next(TestingLeaderElectionListener.Granted.class, WAIT);
            new EpochFence(jm.layout.epochs()).acquire(); // a writer that ignored the lock
            l.next(TestingLeaderElectionListener.Revoked.class, WAIT);
            assertThat(l.next(TestingLeaderElectionListener.Error.class, WAIT).error()).isInstanceOf(FencedException.class);
            assertThat(d.hasLeadership()).isFalse();
        }
    }

    /** A leader record overwritten or deleted by someone else is repaired by the leader. */
    @Test
    void leaderRepairsItsRecordWhenOverwrittenOrDeleted() throws Exception {
        PvcTestFixture jm = PvcTestFixture.contender(tmp);
        TestingLeaderElectionListener l = new TestingLeaderElectionListener();
        try (PvcLeaderElectionDriver d = driver(jm, l)) {
            UUID s = l.next(TestingLeaderElectionListener.Granted.class, WAIT).session();
            d.publishLeaderInformation("rest_server", LeaderInformation.known(s, "http://leader"));
            Path file = jm.layout.leaders().resolve("rest_server");

            Files.delete(file);
            awaitRecord(file, "http://leader");

            HaRecord foreign = new HaRecord(0, 1, false,
                    new LeaderRecord("http://impostor", UUID.randomUUID()).encode());
            Files.write(file, foreign.encode());
            awaitRecord(file, "http://leader");
            assertThat(l.pending()).isEmpty();
        }
    }

    private static void awaitRecord(Path file, String address) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            try {
                if (Files.readString(file, StandardCharsets.ISO_8859_1).contains(address)) {
                    return;
                }
            } catch (java.io.IOException notThereYet) {
                // deleted, not rewritten yet
            }
            Thread.sleep(POLL.toMillis());
        }
        throw new AssertionError(file + " was not repaired to " + address);
    }

    @Test
    void deleteRemovesOnlyOwnRecord() throws Exception {
        PvcTestFixture jm = PvcTestFixture.contender(tmp);
        TestingLeaderElectionListener l = new TestingLeaderElectionListener();
        try (PvcLeaderElectionDriver d = driver(jm, l)) {
            UUID s = l.next(TestingLeaderElectionListener.Granted.class, WAIT).session();
            d.publishLeaderInformation("rest_server", LeaderInformation.known(s, "http://x"));
            d.deleteLeaderInformation("rest_server");
            assertThat(jm.layout.leaders().resolve("rest_server")).doesNotExist();
        }
    }

    /**
     * On the volume, retrieval reports a new leader when the kernel reports the leader file
     * changed, not at the next poll: with a poll interval longer than the test's wait, only the
     * watch can deliver the second leader (the first is read by the initial poll).
     */
    @Test
    void volumeRetrievalReportsANewLeaderWithoutWaitingForThePoll() throws Exception {
        PvcTestFixture jm = PvcTestFixture.contender(tmp);
        TestingLeaderElectionListener l = new TestingLeaderElectionListener();
        BlockingQueue<LeaderInformation> seen = new LinkedBlockingQueue<>();
        BlockingQueue<Throwable> fatal = new LinkedBlockingQueue<>();
        Duration noPollDuringTheTest = WAIT.multipliedBy(10);
        try (PvcLeaderElectionDriver d = driver(jm, l)) {
            UUID s = l.next(TestingLeaderElectionListener.Granted.class, WAIT).session();
            d.publishLeaderInformation("resource_manager", LeaderInformation.known(s, "pekko://old"));
            LeaderRecordSource volume = PvcHaUtils.leaderSource(
                    new org.apache.flink.configuration.Configuration(), jm.layout);
            try (LeaderRetrievalDriver r = new PvcLeaderRetrievalDriverFactory(
                    () -> volume, "resource_manager", noPollDuringTheTest).createLeaderRetrievalDriver(seen::add, fatal::add)) {
                assertThat(seen.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS))
                        .isEqualTo(LeaderInformation.known(s, "pekko://old"));
                d.publishLeaderInformation("resource_manager", LeaderInformation.known(s, "pekko://new"));
                assertThat(seen.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS))
                        .isEqualTo(LeaderInformation.known(s, "pekko://new"));
                assertThat(fatal).isEmpty();
            }
        }
    }

    @Test
    void corruptLeaderFileIsFatalForRetrieval() throws Exception {
        PvcTestFixture jm = new PvcTestFixture(tmp);
        Files.createDirectories(jm.layout.leaders());
        Files.write(jm.layout.leaders().resolve("resource_manager"), new byte[] {'x'});
        BlockingQueue<Throwable> fatal = new LinkedBlockingQueue<>();
        try (LeaderRetrievalDriver r = new PvcLeaderRetrievalDriverFactory(() -> volume(jm), "resource_manager", POLL)
                .createLeaderRetrievalDriver(info -> {}, fatal::add)) {
            Throwable t = fatal.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            assertThat(t).isNotNull();
            assertThat(t).hasStackTraceContaining(jm.layout.leaders().resolve("resource_manager").toString());
        }
    }

    @Test
    void retrievalNeverWrites() throws Exception {
        PvcTestFixture jm = new PvcTestFixture(tmp);
        FileRecordStore readOnly = new FileRecordStore(jm.layout.leaders(), new EpochFence(jm.layout.epochs()), jm.files);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> readOnly.write("x", 1, false, new byte[0]))
                .isInstanceOf(IllegalStateException.class);
    }
}
