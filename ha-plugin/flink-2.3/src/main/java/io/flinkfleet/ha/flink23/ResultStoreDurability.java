package io.flinkfleet.ha.flink23;

import io.flinkfleet.ha.core.DurableFiles;
import io.flinkfleet.ha.core.EpochFence;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * What the result-store decorators add to Flink's file-based result stores: the epoch fence
 * before each write, and fsync of the entry and its directory after it (Flink's stores do not
 * fsync), so that a globally terminal result, once reported written, survives a crash.
 */
final class ResultStoreDurability {
    private final EpochFence fence;
    private final Optional<Path> localBase;

    ResultStoreDurability(EpochFence fence, Optional<Path> localBase) {
        this.fence = fence;
        this.localBase = localBase;
    }

    void checkNotFenced() throws IOException {
        fence.checkNotFenced();
    }

    /** fsync every entry of this id (its name starts with the id) and the directory. */
    void syncEntry(String id) {
        if (localBase.isEmpty() || !Files.isDirectory(localBase.get())) {
            return;
        }
        try {
            try (DirectoryStream<Path> entries = Files.newDirectoryStream(localBase.get(), id + "*")) {
                for (Path p : entries) {
                    DurableFiles.fsyncFile(p);
                }
            }
            DurableFiles.fsyncDirectory(localBase.get());
        } catch (IOException e) {
            throw new UncheckedIOException("Could not make the result entry of " + id + " durable", e);
        }
    }
}
