package io.flinkfleet.ha.core;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.UUID;

/**
 * Crash-safe file primitives on a local (POSIX) file system, e.g. a mounted PVC.
 *
 * <p>A write is: temp file in the target's directory → write → fsync → atomic rename → fsync
 * the directory. A reader therefore sees either the old or the new file, never a torn one.
 * Temp files start with {@link #TEMP_PREFIX} and are ignored by every listing.
 *
 * <p>Every write, fsync, rename and unlink goes through a {@link FileIo}, so that a test can
 * drop what was not synced at a simulated power cut; the {@link FaultSeam} lets a test stop a
 * write after each {@link WriteStep}.
 */
public final class DurableFiles {
    public static final String TEMP_PREFIX = ".tmp-";

    private final FaultSeam seam;
    private final FileIo io;
    private final PvcHaMetrics metrics;

    public DurableFiles() {
        this(FaultSeam.NONE, NioFileIo.INSTANCE);
    }

    public DurableFiles(FaultSeam seam) {
        this(seam, NioFileIo.INSTANCE);
    }

    public DurableFiles(FileIo io) {
        this(FaultSeam.NONE, io);
    }

    public DurableFiles(FaultSeam seam, FileIo io) {
        this(seam, io, PvcHaMetrics.create());
    }

    /** @param metrics where commit latencies go; the fence and the leader election report there too */
    public DurableFiles(FaultSeam seam, FileIo io, PvcHaMetrics metrics) {
        this.seam = seam;
        this.io = io;
        this.metrics = metrics;
    }

    public FileIo io() {
        return io;
    }

    /** The JVM's HA metrics (an unserved instance unless one was given). */
    public PvcHaMetrics metrics() {
        return metrics;
    }

    /**
     * Atomically replaces {@code target} with {@code data}.
     *
     * @param beforeCommit runs after the temp file is durable and right before the rename; a
     *     fencing check throws here so that a fenced writer never commits
     * @throws CommitOutcomeUnknownException if the rename or the directory fsync failed: the
     *     caller must assume either content may be visible
     * @throws IOException if the write failed before the commit point (target unchanged)
     */
    public void writeAtomically(Path target, byte[] data, PreCommitCheck beforeCommit) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        createDirectoriesDurably(dir);
        Path temp = dir.resolve(TEMP_PREFIX + target.getFileName() + "-" + UUID.randomUUID());
        boolean committed = false;
        long started = metrics.nanoTime();
        try {
            io.createAndWrite(temp, data);
            seam.after(WriteStep.TEMP_WRITTEN, target);
            io.force(temp);
            seam.after(WriteStep.TEMP_FSYNCED, target);
            boolean[] renamed = {false};
            try {
                beforeCommit.checkThen(() -> {
                    renameOrOutcomeUnknown(temp, target);
                    renamed[0] = true;
                    seam.after(WriteStep.RENAMED, target);
                    io.fsyncDir(dir);
                });
            } finally {
                committed = renamed[0];
            }
            seam.after(WriteStep.DIRECTORY_FSYNCED, target);
            metrics.commitCompleted(started);
        } catch (IOException e) {
            if (!committed) {
                try {
                    io.delete(temp);
                } catch (IOException deleteFailure) {
                    // Never let the clean-up hide the real outcome (e.g. an unknown commit).
                    e.addSuppressed(deleteFailure);
                }
                throw e;
            }
            throw e instanceof CommitOutcomeUnknownException ? e : new CommitOutcomeUnknownException(target, e);
        }
    }

    /** Reads a whole file, or empty if it does not exist. */
    public static Optional<byte[]> readIfExists(Path file) throws IOException {
        try {
            return Optional.of(Files.readAllBytes(file));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }

    /**
     * Creates {@code file} exclusively (fails if it exists), with {@code data}, durably.
     *
     * @throws FileAlreadyExistsException if someone else created it first
     */
    public void createExclusively(Path file, byte[] data) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        createDirectoriesDurably(dir);
        io.createAndWrite(file, data);
        io.force(file);
        io.fsyncDir(dir);
    }

    /**
     * Deletes a file durably. Missing files are fine (deletes are retried after crashes).
     *
     * @throws CommitOutcomeUnknownException if the directory fsync failed after the unlink
     */
    public void deleteDurably(Path file) throws IOException {
        deleteDurably(file, PreCommitCheck.NONE);
    }

    /** {@link #deleteDurably(Path)} with {@code beforeDelete} run right before the unlink. */
    public void deleteDurably(Path file, PreCommitCheck beforeDelete) throws IOException {
        beforeDelete.checkThen(() -> {
            if (io.delete(file)) {
                try {
                    io.fsyncDir(file.toAbsolutePath().getParent());
                } catch (IOException e) {
                    throw new CommitOutcomeUnknownException(file, e);
                }
            }
        });
    }

    /**
     * Atomically renames {@code from} over {@code to} in the same directory, durably, with
     * {@code beforeCommit} run right before the rename.
     *
     * @throws CommitOutcomeUnknownException if the rename or the directory fsync failed
     */
    public void renameDurably(Path from, Path to, PreCommitCheck beforeCommit) throws IOException {
        beforeCommit.checkThen(() -> {
            renameOrOutcomeUnknown(from, to);
            try {
                io.fsyncDir(to.toAbsolutePath().getParent());
            } catch (IOException e) {
                throw new CommitOutcomeUnknownException(to, e);
            }
        });
    }

    /** The atomic rename of a commit; an error other than "not atomic" leaves its outcome unknown. */
    private void renameOrOutcomeUnknown(Path from, Path to) throws IOException {
        try {
            io.rename(from, to);
        } catch (AtomicMoveNotSupportedException e) {
            // Never fall back to a non-atomic copy: that is exactly the torn write we avoid.
            throw e;
        } catch (IOException e) {
            // rename(2) may have happened even though an error is reported (e.g. NFS retry).
            throw new CommitOutcomeUnknownException(to, e);
        }
    }

    /** Deletes a directory tree durably, deepest entries first; missing is fine. */
    public void deleteTreeDurably(Path root) throws IOException {
        deleteTreeDurably(root, PreCommitCheck.NONE);
    }

    /**
     * Deletes a directory tree durably, deepest entries first, running {@code beforeEachDelete}
     * right before every single unlink (a fencing check: a writer that lost leadership midway
     * stops at the next entry).
     */
    public void deleteTreeDurably(Path root, PreCommitCheck beforeEachDelete) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
            try (DirectoryStream<Path> entries = Files.newDirectoryStream(root)) {
                for (Path p : entries) {
                    deleteTreeDurably(p, beforeEachDelete);
                }
            }
        }
        deleteDurably(root, beforeEachDelete);
    }

    /**
     * Creates missing directories and fsyncs the parent of each one created, so that a file
     * committed inside a new directory is reachable after a power loss too.
     */
    public void createDirectoriesDurably(Path dir) throws IOException {
        Path abs = dir.toAbsolutePath();
        if (Files.isDirectory(abs)) {
            return;
        }
        Path parent = abs.getParent();
        if (parent != null) {
            createDirectoriesDurably(parent);
        }
        try {
            io.createDirectory(abs);
        } catch (FileAlreadyExistsException e) {
            if (!Files.isDirectory(abs)) {
                throw e;
            }
            return; // created concurrently by someone else, who syncs it
        }
        if (parent != null) {
            io.fsyncDir(parent);
        }
    }

    /** fsync of a directory, which makes renames and unlinks in it durable (Linux). */
    public void fsyncDirectory(Path dir) throws IOException {
        io.fsyncDir(dir);
    }

    /** fsync of one regular file. */
    public void fsyncFile(Path file) throws IOException {
        io.force(file);
    }

    /** Checked right before a commit; throws to abort it. */
    @FunctionalInterface
    public interface PreCommitCheck {
        PreCommitCheck NONE = () -> {};

        void check() throws IOException;

        /**
         * Runs {@link #check()}, then {@code commit} (the rename or unlink and its directory
         * fsync). A check that guards leadership ({@link EpochFence}) overrides this so that
         * leadership cannot be given up between the two.
         */
        default void checkThen(CommitStep commit) throws IOException {
            check();
            commit.run();
        }
    }

    /** The commit itself: a rename or an unlink, and the directory fsync that makes it durable. */
    @FunctionalInterface
    public interface CommitStep {
        void run() throws IOException;
    }
}
