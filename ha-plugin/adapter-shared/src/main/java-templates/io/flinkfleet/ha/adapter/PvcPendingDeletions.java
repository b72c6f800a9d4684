package io.flinkfleet.ha.${flinkfleet.adapter.package};

import io.flinkfleet.ha.core.DurableFiles;
import io.flinkfleet.ha.core.EpochFence;
import io.flinkfleet.ha.core.FileRecordStore;
import io.flinkfleet.ha.core.HaRecord;

import org.apache.flink.runtime.state.RetrievableStateHandle;
import org.apache.flink.util.InstantiationUtil;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Finishes removals: an entry is marked for deletion by renaming it to
 * {@code .deleting-<name>}; its state is then discarded and the marker deleted. A leader that
 * crashed in between leaves the marker; the next leader {@link #collect collects} it when it
 * takes the lock, before it grants leadership.
 */
final class PvcPendingDeletions {
    private static final Logger LOG = LoggerFactory.getLogger(PvcPendingDeletions.class);

    private PvcPendingDeletions() {}

    /** Discards the state the marker refers to, then deletes the marker (both fenced). */
    static void discardAndDelete(FileRecordStore records, Path marker) throws Exception {
        byte[] bytes = Files.readAllBytes(marker);
        RetrievableStateHandle<?> handle;
        try {
            HaRecord record = HaRecord.decode(marker, bytes);
            handle = InstantiationUtil.deserializeObject(record.payload(), Thread.currentThread().getContextClassLoader());
        } catch (ClassNotFoundException | IOException e) { // incl. CorruptHaFileException
            // Nothing we could find to discard; drop the marker rather than block cleanup forever.
            LOG.warn("Removing undecodable HA deletion marker {}.", marker, e);
            records.deleteMarked(marker);
            return;
        }
        handle.discardState();
        records.deleteMarked(marker);
    }

    /** Collects every marker under the metadata root; returns how many. */
    static int collect(Path root, EpochFence fence, DurableFiles files) throws Exception {
        if (!Files.isDirectory(root)) {
            return 0;
        }
        List<Path> markers = new ArrayList<>();
        try (Stream<Path> all = Files.walk(root)) {
            all.filter(p -> p.getFileName().toString().startsWith(FileRecordStore.DELETING_PREFIX)).forEach(markers::add);
        }
        for (Path m : markers) {
            LOG.info("Finishing the removal of {} (marked for deletion before a crash).", m);
            discardAndDelete(new FileRecordStore(m.getParent(), fence, files), m);
        }
        return markers.size();
    }
}
