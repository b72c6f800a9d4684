package io.flinkfleet.ha.flink23;

import static org.assertj.core.api.Assertions.assertThat;

import io.flinkfleet.ha.core.EpochFence;
import io.flinkfleet.ha.core.FencedException;
import io.flinkfleet.ha.core.FileRecordStore;
import io.flinkfleet.ha.core.HttpLeaderRecordSource;
import io.flinkfleet.ha.core.LeaderFileServer;
import io.flinkfleet.ha.core.LeaderRecordSource;

import org.apache.flink.runtime.leaderelection.LeaderInformation;
import org.apache.flink.runtime.leaderretrieval.LeaderRetrievalDriver;

import java.net.URI;
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

class PvcLeaderElectionAndRetrievalTest {
    private static final Duration POLL = Duration.ofMillis(100);
    private static final Duration WAIT = Duration.ofSeconds(5);

    @TempDir Path tmp;

    private static LeaderRecordSource volume(PvcTestFixture jm) {
        FileRecordStore readOnly = new FileRecordStore(jm.layout.leaders(), new EpochFence(jm.layout.epochs()), jm.files);
        return readOnly::read;
    }

    /** TaskManagers without the volume follow the leader through the JobManager's leader server. */
    @Test
    void retrievalThroughTheLeaderServer() throws Exception {
        PvcTestFixture jm = new PvcTestFixture(tmp);
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
                assertThat(seen.poll(5, TimeUnit.SECONDS)).isEqualTo(LeaderInformation.known(s, "pekko://rm"));
                assertThat(fatal).isEmpty();
            }
        }
    }

    private PvcLeaderElectionDriver driver(PvcTestFixture jm, TestingLeaderElectionListener l) throws Exception {
        return (PvcLeaderElectionDriver) new PvcLeaderElectionDriverFactory(jm.layout, jm.fence, jm.files, POLL).create(l);
    }

    @Test
    void grantsAtOncePublishesAndRetrievalSeesNewLeaderWithinAPoll() throws Exception {
        PvcTestFixture jm = new PvcTestFixture(tmp);
        TestingLeaderElectionListener l = new TestingLeaderElectionListener();
        BlockingQueue<LeaderInformation> seen = new LinkedBlockingQueue<>();
        BlockingQueue<Throwable> fatal = new LinkedBlockingQueue<>();
        try (PvcLeaderElectionDriver d = driver(jm, l);
                LeaderRetrievalDriver r = new PvcLeaderRetrievalDriverFactory(() -> volume(jm), "dispatcher", POLL)
                        .createLeaderRetrievalDriver(seen::add, fatal::add)) {
            UUID session = l.next(TestingLeaderElectionListener.Granted.class, WAIT).session();
            assertThat(d.hasLeadership()).isTrue();
            d.publishLeaderInformation("dispatcher", LeaderInformation.known(session, "pekko://a"));
            assertThat(seen.poll(5, TimeUnit.SECONDS)).isEqualTo(LeaderInformation.known(session, "pekko://a"));

            // A restarted JobManager (new epoch) publishes a new address: retrieval follows.
            PvcTestFixture next = jm.restart();
            TestingLeaderElectionListener l2 = new TestingLeaderElectionListener();
            try (PvcLeaderElectionDriver d2 = driver(next, l2)) {
                UUID s2 = l2.next(TestingLeaderElectionListener.Granted.class, WAIT).session();
                long t0 = System.nanoTime();
                d2.publishLeaderInformation("dispatcher", LeaderInformation.known(s2, "pekko://b"));
                assertThat(seen.poll(5, TimeUnit.SECONDS)).isEqualTo(LeaderInformation.known(s2, "pekko://b"));
                assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(POLL.multipliedBy(10));
            }
            assertThat(fatal).isEmpty();
        }
    }

    @Test
    void olderLeaderIsFencedRevokedAndCannotPublish() throws Exception {
        PvcTestFixture jm = new PvcTestFixture(tmp);
        TestingLeaderElectionListener l = new TestingLeaderElectionListener();
        try (PvcLeaderElectionDriver d = driver(jm, l)) {
            UUID session = l.next(TestingLeaderElectionListener.Granted.class, WAIT).session();
            d.publishLeaderInformation("dispatcher", LeaderInformation.known(session, "pekko://old"));

            PvcTestFixture second = jm.restart();
            TestingLeaderElectionListener l2 = new TestingLeaderElectionListener();
            try (PvcLeaderElectionDriver d2 = driver(second, l2)) {
                UUID s2 = l2.next(TestingLeaderElectionListener.Granted.class, WAIT).session();
                d2.publishLeaderInformation("dispatcher", LeaderInformation.known(s2, "pekko://new"));

                l.next(TestingLeaderElectionListener.Revoked.class, WAIT);
                assertThat(l.next(TestingLeaderElectionListener.Error.class, WAIT).error()).isInstanceOf(FencedException.class);
                assertThat(d.hasLeadership()).isFalse();

                // The fenced driver can neither overwrite nor delete the new leader's record.
                d.publishLeaderInformation("dispatcher", LeaderInformation.known(session, "pekko://old"));
                assertThat(l.next(TestingLeaderElectionListener.Error.class, WAIT).error()).isInstanceOf(FencedException.class);
                d.deleteLeaderInformation("dispatcher");
                String content = Files.readString(second.layout.leaders().resolve("dispatcher"), java.nio.charset.StandardCharsets.ISO_8859_1);
                assertThat(content).contains("pekko://new");
            }
        }
    }

    @Test
    void deleteRemovesOnlyOwnRecord() throws Exception {
        PvcTestFixture jm = new PvcTestFixture(tmp);
        TestingLeaderElectionListener l = new TestingLeaderElectionListener();
        try (PvcLeaderElectionDriver d = driver(jm, l)) {
            UUID s = l.next(TestingLeaderElectionListener.Granted.class, WAIT).session();
            d.publishLeaderInformation("rest_server", LeaderInformation.known(s, "http://x"));
            d.deleteLeaderInformation("rest_server");
            assertThat(jm.layout.leaders().resolve("rest_server")).doesNotExist();
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
            Throwable t = fatal.poll(5, TimeUnit.SECONDS);
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
