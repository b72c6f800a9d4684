package io.flinkfleet.ha.core;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One contender process for {@link LeadershipLockProcessTest}: waits for the leadership lock,
 * takes an epoch under it, then appends {@code <id> <epoch> <n>} lines to a shared log for as
 * long as it leads (each line one {@code O_APPEND} write, checked against the lock and the epoch
 * first). Runs until killed; exits with 3 if it ever finds itself fenced.
 *
 * <p>Args: metadata root, log file, contender id, and optionally {@code slow-stop}: on SIGTERM
 * the process then takes {@value #SLOW_STOP_MS} ms to stop (as Flink's graceful shutdown does)
 * while giving the lock up at once ({@link EpochFence#releaseLockOnJvmStop}). Its callback
 * blocks as long, as a log call can while logging itself is shutting down in its own hook.
 */
public final class LockContenderMain {
    static final long SLOW_STOP_MS = 20_000;

    private LockContenderMain() {}

    public static void main(String[] args) throws Exception {
        PvcHaLayout layout = new PvcHaLayout(Path.of(args[0]));
        Path log = Path.of(args[1]);
        String id = args[2];
        // End with the test JVM: its end closes our stdin (never leave a contender behind).
        Thread watchdog = new Thread(() -> {
            try {
                while (System.in.read() >= 0) {
                    // nothing to read; the parent never writes
                }
            } catch (java.io.IOException ignored) {
                // closed
            }
            Runtime.getRuntime().halt(4);
        });
        watchdog.setDaemon(true);
        watchdog.start();
        LeadershipLock lock = new LeadershipLock(layout.lockFile());
        lock.acquire();
        EpochFence fence = new EpochFence(layout.epochs());
        fence.attachLock(lock);
        long epoch = fence.acquire();
        if (args.length > 3 && args[3].equals("slow-stop")) {
            Runnable slowly = () -> {
                try {
                    Thread.sleep(SLOW_STOP_MS);
                } catch (InterruptedException ignored) {
                    // stop now
                }
            };
            fence.releaseLockOnJvmStop(lock, slowly);
            Runtime.getRuntime().addShutdownHook(new Thread(slowly));
        }
        try (FileChannel out = FileChannel.open(log, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND)) {
            for (long n = 0; ; n++) {
                byte[] line = (id + " " + epoch + " " + n + "\n").getBytes(StandardCharsets.US_ASCII);
                try {
                    // Checked and written with leadership unable to end in between.
                    fence.checkThen(() -> out.write(ByteBuffer.wrap(line)));
                } catch (FencedException e) {
                    System.out.println("fenced at line " + n);
                    System.exit(3); // while stopping, this blocks until the hooks are done
                }
                Thread.sleep(5);
            }
        }
    }
}
