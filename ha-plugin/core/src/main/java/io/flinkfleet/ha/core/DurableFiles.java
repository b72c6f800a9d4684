package io.flinkfleet.ha.core;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import java.util.UUID;

/**
 * Crash-safe file primitives on a local (POSIX) file system, e.g. a mounted PVC.
 *
 * <p>A write is: temp file in the target's directory → write → fsync → atomic rename → fsync
 * the directory. A reader therefore sees either the old or the new file, never a torn one.
 * Temp files start with {@link #TEMP_PREFIX} and are ignored by every listing.
 */
public final class DurableFiles {
    public static final String TEMP_PREFIX = ".tmp-";

    private final FaultSeam seam;

    public DurableFiles() {
        this(FaultSeam.NONE);
    }

    public DurableFiles(FaultSeam seam) {
        this.seam = seam;
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
        try {
            try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ByteBuffer buf = ByteBuffer.wrap(data);
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
                seam.after(WriteStep.TEMP_WRITTEN, target);
                ch.force(true);
            }
            seam.after(WriteStep.TEMP_FSYNCED, target);
            beforeCommit.check();
            try {
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                // Never fall back to a non-atomic copy: that is exactly the torn write we avoid.
                throw e;
            } catch (IOException e) {
                // rename(2) may have happened even though an error is reported (e.g. NFS retry).
                throw new CommitOutcomeUnknownException(target, e);
            }
            committed = true;
            seam.after(WriteStep.RENAMED, target);
            fsyncDirectory(dir);
            seam.after(WriteStep.DIRECTORY_FSYNCED, target);
        } catch (IOException e) {
            if (!committed) {
                Files.deleteIfExists(temp);
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
    public static void createExclusively(Path file, byte[] data) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        createDirectoriesDurably(dir);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(data));
            ch.force(true);
        }
        fsyncDirectory(dir);
    }

    /**
     * Deletes a file durably. Missing files are fine (deletes are retried after crashes).
     *
     * @throws CommitOutcomeUnknownException if the directory fsync failed after the unlink
     */
    public static void deleteDurably(Path file) throws IOException {
        if (Files.deleteIfExists(file)) {
            try {
                fsyncDirectory(file.toAbsolutePath().getParent());
            } catch (IOException e) {
                throw new CommitOutcomeUnknownException(file, e);
            }
        }
    }

    /** Deletes a directory tree durably, deepest entries first; missing is fine. */
    public static void deleteTreeDurably(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        if (Files.isDirectory(root)) {
            try (DirectoryStream<Path> entries = Files.newDirectoryStream(root)) {
                for (Path p : entries) {
                    deleteTreeDurably(p);
                }
            }
        }
        deleteDurably(root);
    }

    /**
     * Creates missing directories and fsyncs the parent of each one created, so that a file
     * committed inside a new directory is reachable after a power loss too.
     */
    public static void createDirectoriesDurably(Path dir) throws IOException {
        Path abs = dir.toAbsolutePath();
        if (Files.isDirectory(abs)) {
            return;
        }
        Path parent = abs.getParent();
        if (parent != null) {
            createDirectoriesDurably(parent);
        }
        try {
            Files.createDirectory(abs);
        } catch (FileAlreadyExistsException e) {
            if (!Files.isDirectory(abs)) {
                throw e;
            }
            return; // created concurrently by someone else, who syncs it
        }
        if (parent != null) {
            fsyncDirectory(parent);
        }
    }

    /** fsync of a directory, which makes renames and unlinks in it durable (Linux). */
    public static void fsyncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    /** fsync of one regular file. */
    public static void fsyncFile(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
    }

    /** Checked right before a commit; throws to abort it. */
    @FunctionalInterface
    public interface PreCommitCheck {
        PreCommitCheck NONE = () -> {};

        void check() throws IOException;
    }
}
