package io.flinkfleet.ha.core;

import java.io.Closeable;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;

/**
 * Leadership as an exclusive OS lock ({@code fcntl} record lock through
 * {@link FileChannel#lock()}) on {@code <root>/leader.lock}, held for as long as the
 * JobManager leads. A standby blocks in {@link #acquire()} and gets the lock the moment the
 * holder process dies: the kernel drops a dead process's locks, SIGKILL included. There is no
 * lease to expire and no "newest wins": whoever holds the lock leads, whatever the number of
 * contenders.
 *
 * <p>POSIX locks belong to the process and are dropped when <em>any</em> descriptor of that
 * process on the file is closed, and a second {@code lock()} in the same JVM throws
 * {@code OverlappingFileLockException}. So within one JVM contenders for the same file queue on
 * a semaphore first, and the file is opened exactly once per holder.
 *
 * <p>Thread-safety: {@link #acquire()} runs on one thread; {@link #close()} and
 * {@link #isHeld()} may be called from any thread.
 */
public final class LeadershipLock implements Closeable {
    private static final ConcurrentHashMap<Path, Semaphore> IN_JVM = new ConcurrentHashMap<>();

    private final Path lockFile;
    private final Semaphore jvmGate;
    private final Object mon = new Object();

    // @GuardedBy("mon")
    private FileChannel channel;
    // @GuardedBy("mon")
    private FileLock lock;
    // @GuardedBy("mon")
    private boolean gateHeld;
    // @GuardedBy("mon")
    private boolean closed;
    // @GuardedBy("mon")
    private Thread acquiring;

    public LeadershipLock(Path lockFile) {
        this.lockFile = lockFile.toAbsolutePath().normalize();
        this.jvmGate = IN_JVM.computeIfAbsent(this.lockFile, p -> new Semaphore(1));
    }

    public Path file() {
        return lockFile;
    }

    /**
     * Blocks until this process holds the lock.
     *
     * @throws InterruptedException if interrupted or {@link #close() closed} while waiting
     * @throws IOException if the lock file cannot be opened or locked
     */
    public void acquire() throws IOException, InterruptedException {
        synchronized (mon) {
            if (closed) {
                throw new InterruptedException("closed");
            }
            if (lock != null) {
                throw new IllegalStateException("already held: " + lockFile);
            }
            acquiring = Thread.currentThread();
        }
        try {
            jvmGate.acquire();
            FileChannel opened;
            synchronized (mon) {
                gateHeld = true;
                if (closed) {
                    throw new InterruptedException("closed");
                }
                Files.createDirectories(lockFile.getParent());
                channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                // A close() from another thread may null the field before we block on the
                // channel: lock through our own reference, whose closing ends the wait.
                opened = channel;
            }
            FileLock l;
            try {
                l = opened.lock(); // blocks; interrupt or close of the channel ends the wait
            } catch (java.nio.channels.ClosedChannelException | java.nio.channels.FileLockInterruptionException e) {
                InterruptedException ie = new InterruptedException("stopped waiting for " + lockFile);
                ie.initCause(e);
                throw ie;
            }
            synchronized (mon) {
                if (closed) {
                    l.release();
                    throw new InterruptedException("closed");
                }
                lock = l;
            }
        } catch (IOException | InterruptedException | RuntimeException e) {
            close();
            throw e;
        } finally {
            synchronized (mon) {
                acquiring = null;
            }
        }
    }

    /** True once {@link #close()} was called: this object never holds the lock again. */
    public boolean isClosed() {
        synchronized (mon) {
            return closed;
        }
    }

    /** True while this process holds the lock (false once released, closed or lost). */
    public boolean isHeld() {
        synchronized (mon) {
            return !closed && lock != null && lock.isValid();
        }
    }

    /**
     * Throws unless the lock is held right now.
     *
     * @throws FencedException if the lock is not (or no longer) held
     */
    public void checkHeld(long epoch) throws FencedException {
        if (!isHeld()) {
            throw new FencedException(epoch, "the leadership lock " + lockFile + " is not held");
        }
    }

    /** Releases the lock (or stops waiting for it). Idempotent. */
    @Override
    public void close() {
        synchronized (mon) {
            if (closed && channel == null && !gateHeld) {
                return;
            }
            closed = true;
            if (acquiring != null && acquiring != Thread.currentThread()) {
                acquiring.interrupt();
            }
            if (channel != null) {
                try {
                    channel.close(); // releases the lock
                } catch (IOException ignored) {
                    // Closing the descriptor drops the lock either way.
                }
                channel = null;
            }
            lock = null;
            if (gateHeld) {
                gateHeld = false;
                jvmGate.release();
            }
        }
    }

    /** Test hook: the lock is lost behind the holder's back (as when another descriptor closes). */
    public void loseForTesting() throws IOException {
        synchronized (mon) {
            if (lock != null) {
                lock.release();
            }
        }
    }

    @Override
    public String toString() {
        return "LeadershipLock{" + lockFile + ", held=" + isHeld() + "}";
    }
}
