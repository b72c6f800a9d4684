package io.flinkfleet.ha.core;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The file operations the durable-write code goes through, so that tests can tell written from
 * durable data. {@link NioFileIo} is the production implementation; the test tree has a power-cut
 * double that keeps unsynced file contents and unsynced directory entries apart and drops them
 * at a simulated power loss.
 *
 * <p>Reads are not part of the seam: after a write the visible file system is the real one.
 */
public interface FileIo {
    /** Creates {@code file}, which must not exist, with {@code data}; nothing is synced. */
    void createAndWrite(Path file, byte[] data) throws IOException;

    /** fsync of a regular file's data and metadata (not of its directory entry). */
    void force(Path file) throws IOException;

    /** fsync of a directory: makes the creations, renames and unlinks in it durable (Linux). */
    void fsyncDir(Path dir) throws IOException;

    /** Atomic {@code rename(2)} over {@code to}; never a copy. */
    void rename(Path from, Path to) throws IOException;

    /** Unlinks a file or an empty directory; false if it did not exist. Not synced. */
    boolean delete(Path path) throws IOException;

    /**
     * Creates one directory (its parent must exist); not synced.
     *
     * @throws java.nio.file.FileAlreadyExistsException if something of that name exists
     */
    void createDirectory(Path dir) throws IOException;
}
