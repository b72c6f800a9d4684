package io.flinkfleet.ha.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The HA metrics and their exposition (Prometheus text format 0.0.4). Time comes from a fake
 * clock that only the test moves, so every duration asserted is exact.
 */
class PvcHaMetricsTest {
    private static final Pattern SAMPLE = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{[^}]*\\})? (\\S+)");
    private static final Pattern COMMENT = Pattern.compile("# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)");

    @TempDir Path dir;
    private final AtomicLong clock = new AtomicLong(1_000_000_000L);
    private final PvcHaMetrics metrics = new PvcHaMetrics(clock::get);

    /** Every line is a HELP, a TYPE or a sample; HELP then TYPE open each family, before its samples. */
    private static Map<String, String> parse(String text) {
        Map<String, String> samples = new LinkedHashMap<>();
        Map<String, String> types = new LinkedHashMap<>();
        String lastHelp = null;
        for (String line : text.split("\n")) {
            Matcher c = COMMENT.matcher(line);
            if (c.matches()) {
                if (c.group(1).equals("HELP")) {
                    lastHelp = c.group(2);
                } else {
                    assertThat(c.group(2)).as("TYPE right after its HELP").isEqualTo(lastHelp);
                    types.put(c.group(2), c.group(3));
                }
                continue;
            }
            Matcher s = SAMPLE.matcher(line);
            assertThat(s.matches()).as("sample line: %s", line).isTrue();
            String name = s.group(1);
            String family = types.containsKey(name) ? name : name.replaceAll("_(bucket|sum|count)$", "");
            assertThat(types).as("TYPE before the sample %s", line).containsKey(family);
            Double.parseDouble(s.group(3).replace("+Inf", "Infinity"));
            samples.put(name + (s.group(2) == null ? "" : s.group(2)), s.group(3));
        }
        samples.putAll(types.entrySet().stream().collect(Collectors.toMap(e -> "TYPE " + e.getKey(), Map.Entry::getValue)));
        return samples;
    }

    @ParameterizedTest
    @CsvSource({
        "flinkfleet_ha_leader, gauge",
        "flinkfleet_ha_epoch, gauge",
        "flinkfleet_ha_lock_waiting, gauge",
        "flinkfleet_ha_lock_wait_seconds, gauge",
        "flinkfleet_ha_leadership_acquisitions_total, counter",
        "flinkfleet_ha_failovers_total, counter",
        "flinkfleet_ha_fence_refusals_total, counter",
        "flinkfleet_ha_commit_seconds, histogram",
    })
    void everyFamilyHasHelpTypeAndStartsAtZero(String name, String type) {
        String text = metrics.scrape();
        assertThat(text).contains("# HELP " + name + " ");
        Map<String, String> s = parse(text);
        assertThat(s).containsEntry("TYPE " + name, type);
        String sample = type.equals("histogram") ? name + "_count" : name;
        assertThat(s).containsEntry(sample, "0");
    }

    /** A standby: waiting on the lock, then leading under the next epoch (a failover). */
    @Test
    void lockWaitThenLeadershipOverAnEarlierEpoch() {
        metrics.lockWaitStarted();
        clock.addAndGet(1_500_000_000L);
        Map<String, String> waiting = parse(metrics.scrape());
        assertThat(waiting).containsEntry("flinkfleet_ha_leader", "0")
                .containsEntry("flinkfleet_ha_lock_waiting", "1")
                .containsEntry("flinkfleet_ha_lock_wait_seconds", "1.5");

        clock.addAndGet(2_000_000_000L);
        metrics.lockWaitEnded();
        metrics.epochTaken(8);
        metrics.leadershipGranted(8);
        clock.addAndGet(60_000_000_000L); // a finished wait no longer grows
        Map<String, String> leading = parse(metrics.scrape());
        assertThat(leading).containsEntry("flinkfleet_ha_leader", "1")
                .containsEntry("flinkfleet_ha_epoch", "8")
                .containsEntry("flinkfleet_ha_lock_waiting", "0")
                .containsEntry("flinkfleet_ha_lock_wait_seconds", "3.5")
                .containsEntry("flinkfleet_ha_leadership_acquisitions_total", "1")
                .containsEntry("flinkfleet_ha_failovers_total", "1");

        metrics.leadershipLost();
        assertThat(parse(metrics.scrape())).containsEntry("flinkfleet_ha_leader", "0");
    }

    /** The first leader of a new cluster (epoch 1) took over nobody: no failover. */
    @Test
    void firstEpochIsNoFailover() {
        metrics.leadershipGranted(1);
        assertThat(parse(metrics.scrape())).containsEntry("flinkfleet_ha_leadership_acquisitions_total", "1")
                .containsEntry("flinkfleet_ha_failovers_total", "0");
    }

    /**
     * A durable write is timed from its temp write to its directory fsync: the clock moves 3 ms
     * inside the write (at the temp file's fsync), and only successful commits count.
     */
    @Test
    void commitLatencyOfDurableWrites() throws Exception {
        FileIo slowFsync = new ForwardingFileIo(() -> NioFileIo.INSTANCE) {
            @Override
            public void force(Path file) throws java.io.IOException {
                clock.addAndGet(3_000_000L);
                super.force(file);
            }
        };
        DurableFiles files = new DurableFiles(FaultSeam.NONE, slowFsync, metrics);
        files.writeAtomically(dir.resolve("a"), new byte[] {1}, DurableFiles.PreCommitCheck.NONE);
        assertThatThrownBy(() -> files.writeAtomically(dir.resolve("b"), new byte[] {1}, () -> {
            throw new FencedException(1, "refused before the rename");
        })).isInstanceOf(FencedException.class);

        Map<String, String> s = parse(metrics.scrape());
        assertThat(s).containsEntry("flinkfleet_ha_commit_seconds_count", "1")
                .containsEntry("flinkfleet_ha_commit_seconds_sum", "0.003")
                .containsEntry("flinkfleet_ha_commit_seconds_bucket{le=\"0.0025\"}", "0")
                .containsEntry("flinkfleet_ha_commit_seconds_bucket{le=\"0.005\"}", "1")
                .containsEntry("flinkfleet_ha_commit_seconds_bucket{le=\"10\"}", "1")
                .containsEntry("flinkfleet_ha_commit_seconds_bucket{le=\"+Inf\"}", "1");
    }

    /** The fence records its epoch and counts each refusal: lost lock, newer epoch, newer record. */
    @Test
    void fenceReportsEpochAndRefusals() throws Exception {
        DurableFiles files = new DurableFiles(FaultSeam.NONE, NioFileIo.INSTANCE, metrics);
        EpochFence fence = new EpochFence(dir, files);
        fence.acquire();
        fence.checkNotFenced();
        assertThat(parse(metrics.scrape())).containsEntry("flinkfleet_ha_epoch", "1")
                .containsEntry("flinkfleet_ha_fence_refusals_total", "0");

        new EpochFence(dir).acquire(); // a newer writer
        assertThatThrownBy(fence::checkNotFenced).isInstanceOf(FencedException.class);
        assertThatThrownBy(() -> fence.checkRecordEpoch(2, dir.resolve("x"))).isInstanceOf(FencedException.class);
        assertThat(parse(metrics.scrape())).containsEntry("flinkfleet_ha_fence_refusals_total", "2");
    }

    /** The endpoint serves exactly the scrape, as text format 0.0.4, on /metrics (and /). */
    @Test
    void serverServesTheExposition() throws Exception {
        metrics.leadershipGranted(3);
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        try (PvcHaMetricsServer server = PvcHaMetricsServer.start("127.0.0.1", 0, metrics)) {
            for (String path : List.of("/metrics", "/")) {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + server.port() + path)).build(),
                        HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(r.headers().firstValue("Content-Type")).hasValue("text/plain; version=0.0.4; charset=utf-8");
                assertThat(r.body()).isEqualTo(metrics.scrape());
                assertThat(parse(r.body())).containsEntry("flinkfleet_ha_leader", "1");
            }
            HttpResponse<String> other = http.send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + server.port() + "/leader/x")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(other.statusCode()).isEqualTo(404);
        }
    }
}
