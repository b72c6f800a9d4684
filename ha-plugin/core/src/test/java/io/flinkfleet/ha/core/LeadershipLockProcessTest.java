package io.flinkfleet.ha.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Leadership by the OS lock across real processes (Java's file locks are per JVM, so contenders
 * must be separate JVMs): 2 or 3 contender processes on one metadata root, the leader
 * SIGKILLed ({@link Process#destroyForcibly()}) {@value #KILLS} times and replaced by a fresh
 * contender each time. Every contender appends to a shared log only while it leads, checked
 * against the lock before each line. The log must show one leader at a time (no line of an
 * older epoch after a newer one, one contender per epoch, epochs consecutive) and exactly one new
 * leader per kill (no leadership change without a kill: no ping-pong, no restart loop).
 *
 * <p>No wall-clock bounds: each step waits for a line in the log; the timeout only stops a hung
 * test.
 */
class LeadershipLockProcessTest {
    private static final int KILLS = 20;
    private static final long HANG_GUARD_MS = 120_000;

    @TempDir Path tmp;

    private final Map<String, Process> contenders = new LinkedHashMap<>();
    private int nextId;

    @ParameterizedTest(name = "{0} contenders")
    @ValueSource(ints = {2, 3})
    void oneLeaderAtATimeAcrossKills(int contenderCount) throws Exception {
        Path root = tmp.resolve("meta");
        Path log = tmp.resolve("leaders.log");
        try {
            for (int i = 0; i < contenderCount; i++) {
                start(root, log);
            }
            for (long epoch = 1; epoch <= KILLS; epoch++) {
                String leader = awaitLeader(log, epoch, 3);
                Process p = contenders.remove(leader);
                p.destroyForcibly();
                p.waitFor();
                start(root, log); // a pod restart: the replacement queues behind the others
            }
            awaitLeader(log, KILLS + 1, 3);
            for (Process p : contenders.values()) {
                assertThat(p.isAlive()).as("a contender exited on its own (fenced?)").isTrue();
            }
        } finally {
            for (Process p : contenders.values()) {
                p.destroyForcibly();
                p.waitFor();
            }
        }
        checkOneLeaderAtATime(Files.readAllLines(log, StandardCharsets.US_ASCII), KILLS + 1);
    }

    /**
     * A contender in this JVM blocked on another process's lock: closing it ends its wait; once
     * the holder process is SIGKILLed, the kernel has dropped its lock and this JVM gets it.
     */
    @org.junit.jupiter.api.Test
    void waitEndsOnCloseAndTheKernelDropsADeadHoldersLock() throws Exception {
        Path root = tmp.resolve("meta");
        Path log = tmp.resolve("leaders.log");
        try {
            start(root, log);
            String holder = awaitLeader(log, 1, 1);
            LeadershipLock waiting = new LeadershipLock(new PvcHaLayout(root).lockFile());
            java.util.concurrent.CompletableFuture<Throwable> ended = new java.util.concurrent.CompletableFuture<>();
            Thread t = new Thread(() -> {
                try {
                    waiting.acquire();
                    ended.complete(null);
                } catch (Throwable e) {
                    ended.complete(e);
                }
            });
            t.start();
            waiting.close();
            assertThat(ended.get(HANG_GUARD_MS, java.util.concurrent.TimeUnit.MILLISECONDS))
                    .isInstanceOf(InterruptedException.class);
            assertThat(waiting.isHeld()).isFalse();

            Process p = contenders.remove(holder);
            p.destroyForcibly();
            p.waitFor();
            try (LeadershipLock next = new LeadershipLock(new PvcHaLayout(root).lockFile())) {
                next.acquire();
                assertThat(next.isHeld()).isTrue();
            }
        } finally {
            for (Process p : contenders.values()) {
                p.destroyForcibly();
                p.waitFor();
            }
        }
    }

    /**
     * A leader asked to stop (SIGTERM) that takes long to stop, as Flink's graceful shutdown
     * does, and whose log call blocks in the hook: a standby leads while that process still
     * runs, and the stopping one writes nothing after it (one leader at a time in the log).
     */
    @org.junit.jupiter.api.Test
    void aStoppingLeaderGivesTheLockUpBeforeItsProcessEnds() throws Exception {
        Path root = tmp.resolve("meta");
        Path log = tmp.resolve("leaders.log");
        try {
            start(root, log, "slow-stop");
            String stopping = awaitLeader(log, 1, 3);
            start(root, log);
            Process p = contenders.get(stopping);
            p.toHandle().destroy(); // SIGTERM (Process.destroy would also close its stdin: the watchdog)
            awaitLeader(log, 2, 3);
            // Not just alive at this moment: still stopping seconds later. A lock given up only
            // after the slow hooks would hand leadership over as the process ends.
            boolean ended = p.waitFor(2, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(ended).as("the stopping leader's process still runs (it stops slowly); its output: %s, exit %s",
                    read(tmp.resolve(stopping + ".out")), ended ? String.valueOf(p.exitValue()) : "-").isFalse();
            p.destroyForcibly();
            p.waitFor();
            contenders.remove(stopping);
        } finally {
            for (Process p : contenders.values()) {
                p.destroyForcibly();
                p.waitFor();
            }
        }
        checkOneLeaderAtATime(Files.readAllLines(log, StandardCharsets.US_ASCII), 2);
    }

    private void start(Path root, Path log, String... options) throws IOException {
        String id = "c" + nextId++;
        String cp = codeSource(LockContenderMain.class) + File.pathSeparator + codeSource(LeadershipLock.class);
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx24m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", cp,
                LockContenderMain.class.getName(), root.toString(), log.toString(), id));
        command.addAll(List.of(options));
        Process p = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(tmp.resolve(id + ".out").toFile())
                .start();
        contenders.put(id, p);
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return e.toString();
        }
    }

    private static String codeSource(Class<?> c) {
        try {
            return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Waits until the leader of {@code epoch} has written {@code lines} lines; returns its id. */
    private String awaitLeader(Path log, long epoch, int lines) throws Exception {
        long deadline = System.currentTimeMillis() + HANG_GUARD_MS;
        while (System.currentTimeMillis() < deadline) {
            if (Files.exists(log)) {
                String id = null;
                int n = 0;
                for (String line : Files.readAllLines(log, StandardCharsets.US_ASCII)) {
                    String[] f = line.split(" ");
                    if (f.length == 3 && Long.parseLong(f[1]) == epoch) {
                        id = f[0];
                        n++;
                    }
                }
                if (n >= lines) {
                    return id;
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no leader with epoch " + epoch + "; contenders " + contenders.keySet());
    }

    /** One contender per epoch, epochs 1..expected in order, never an older epoch after a newer. */
    static void checkOneLeaderAtATime(List<String> lines, long expectedEpochs) {
        Map<Long, String> holder = new HashMap<>();
        List<Long> order = new ArrayList<>();
        long newest = 0;
        for (String line : lines) {
            String[] f = line.split(" ");
            if (f.length != 3) {
                continue; // a line torn by SIGKILL mid-write cannot happen with one write(2); be lenient
            }
            long epoch = Long.parseLong(f[1]);
            assertThat(epoch).as("a line of epoch %d after epoch %d: two leaders at once", epoch, newest)
                    .isGreaterThanOrEqualTo(newest);
            String previous = holder.putIfAbsent(epoch, f[0]);
            assertThat(previous == null || previous.equals(f[0])).as("epoch %d held by %s and %s", epoch, previous, f[0])
                    .isTrue();
            if (epoch > newest) {
                order.add(epoch);
                newest = epoch;
            }
        }
        List<Long> expected = new ArrayList<>();
        for (long e = 1; e <= expectedEpochs; e++) {
            expected.add(e);
        }
        assertThat(order).as("leadership changes (one per kill)").isEqualTo(expected);
    }
}
