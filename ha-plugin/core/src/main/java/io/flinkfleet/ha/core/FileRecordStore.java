package io.flinkfleet.ha.core;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A directory of {@link HaRecord} files keyed by name: the version-neutral store under every
 * Flink-specific pointer store, counter and leader file.
 *
 * <p>Every write is fenced by the {@link EpochFence} (checked right before the commit) and
 * carries the writer's epoch; every read validates the frame and fails with a
 * {@link CorruptHaFileException} naming the file.
 */
public final class FileRecordStore {
    private static final Pattern VALID_NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,200}");

    private final Path dir;
    private final EpochFence fence;
    private final DurableFiles files;

    public FileRecordStore(Path dir, EpochFence fence, DurableFiles files) {
        this.dir = dir;
        this.fence = fence;
        this.files = files;
    }

    public Path directory() {
        return dir;
    }

    public Path pathOf(String name) {
        if (!VALID_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("Invalid HA entry name '" + name + "'");
        }
        return dir.resolve(name);
    }

    /**
     * Writes an entry with this writer's epoch.
     *
     * @throws FencedException if a newer epoch exists (nothing was written)
     * @throws CommitOutcomeUnknownException if the commit's outcome is unknown
     */
    public HaRecord write(String name, int version, boolean markedForDeletion, byte[] payload) throws IOException {
        fence.checkNotFenced();
        HaRecord record = new HaRecord(fence.epoch(), version, markedForDeletion, payload);
        files.writeAtomically(pathOf(name), record.encode(), fence);
        return record;
    }

    /** Reads an entry; empty if absent. Works without an epoch (TaskManagers, clients). */
    public Optional<HaRecord> read(String name) throws IOException {
        Path file = pathOf(name);
        Optional<byte[]> bytes = DurableFiles.readIfExists(file);
        if (bytes.isEmpty()) {
            return Optional.empty();
        }
        HaRecord record = HaRecord.decode(file, bytes.get());
        fence.checkRecordEpoch(record.epoch(), file);
        return Optional.of(record);
    }

    /** Names of all entries, sorted, temp files excluded. */
    public List<String> list() throws IOException {
        if (!Files.isDirectory(dir)) {
            return Collections.emptyList();
        }
        List<String> names = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path p : entries) {
                String n = p.getFileName().toString();
                if (!n.startsWith(".") && Files.isRegularFile(p)) {
                    names.add(n);
                }
            }
        }
        Collections.sort(names);
        return names;
    }

    /** Deletes an entry durably, fenced. Missing entries are fine. */
    public void delete(String name) throws IOException {
        Path file = pathOf(name);
        files.deleteDurably(file, fence);
    }

    /**
     * Marks an entry for deletion by renaming it to {@code .deleting-<name>}, durably and fenced:
     * readers no longer see it, and no data is written, so removal works on a full volume. The
     * caller discards what the entry refers to, then {@link #deleteMarked deletes} the marker;
     * markers left by a crash are collected by the next leader.
     *
     * @return the marker, or empty if there was no such entry
     */
    public Optional<Path> markForDeletion(String name) throws IOException {
        Path from = pathOf(name);
        Path to = dir.resolve(DELETING_PREFIX + name);
        fence.checkNotFenced();
        if (!Files.exists(from)) {
            return Optional.empty();
        }
        files.renameDurably(from, to, fence);
        return Optional.of(to);
    }

    /** Deletes a marker made by {@link #markForDeletion}, durably and fenced. */
    public void deleteMarked(Path marker) throws IOException {
        if (!marker.getFileName().toString().startsWith(DELETING_PREFIX)) {
            throw new IllegalArgumentException("Not a deletion marker: " + marker);
        }
        files.deleteDurably(marker, fence);
    }

    /** Prefix of entries marked for deletion (hidden from listings). */
    public static final String DELETING_PREFIX = ".deleting-";

    /** Removes temp files left by a crashed writer. Only the epoch holder calls this. */
    public int cleanupTempFiles() throws IOException {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        int n = 0;
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir, DurableFiles.TEMP_PREFIX + "*")) {
            for (Path p : entries) {
                Files.deleteIfExists(p);
                n++;
            }
        }
        return n;
    }

    @Override
    public String toString() {
        return "FileRecordStore{" + dir + "}";
    }
}
