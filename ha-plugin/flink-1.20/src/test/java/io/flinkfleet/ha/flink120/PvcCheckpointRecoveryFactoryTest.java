package io.flinkfleet.ha.flink120;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flinkfleet.ha.core.PvcHaLayout;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.core.execution.RestoreMode;
import org.apache.flink.runtime.checkpoint.CheckpointIDCounter;
import org.apache.flink.runtime.checkpoint.CheckpointProperties;
import org.apache.flink.runtime.checkpoint.CheckpointRetentionPolicy;
import org.apache.flink.runtime.checkpoint.CheckpointsCleaner;
import org.apache.flink.runtime.checkpoint.CompletedCheckpoint;
import org.apache.flink.runtime.checkpoint.CompletedCheckpointStore;
import org.apache.flink.runtime.state.SharedStateRegistry;
import org.apache.flink.util.concurrent.Executors;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PvcCheckpointRecoveryFactoryTest {
    @TempDir Path tmp;
    private final JobID job = new JobID();

    private static PvcCheckpointRecoveryFactory factory(PvcTestFixture jm) {
        return new PvcCheckpointRecoveryFactory(jm.layout, jm.fence, jm.files, jm.storage(), 1 << 20, Executors.directExecutor());
    }

    private CompletedCheckpointStore recover(PvcTestFixture jm, int retain) throws Exception {
        return factory(jm).createRecoveredCompletedCheckpointStore(job, retain, SharedStateRegistry.DEFAULT_FACTORY,
                Executors.directExecutor(), RestoreMode.CLAIM);
    }

    private CompletedCheckpoint checkpoint(long id) {
        return new CompletedCheckpoint(job, id, id, id + 1, Collections.emptyMap(), Collections.emptyList(),
                CheckpointProperties.forCheckpoint(CheckpointRetentionPolicy.NEVER_RETAIN_AFTER_TERMINATION),
                new TestingCompletedCheckpointStorageLocation(id), null);
    }

    private static List<Long> ids(CompletedCheckpointStore store) throws Exception {
        return store.getAllCheckpoints().stream().map(CompletedCheckpoint::getCheckpointID).collect(Collectors.toList());
    }

    private List<String> pointerFiles(PvcTestFixture jm) throws Exception {
        try (Stream<Path> s = Files.list(jm.layout.checkpoints(job.toHexString()))) {
            return s.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
        }
    }

    @Test
    void retainsNumRetainedDeletesSubsumedAndRecoversInIdOrder() throws Exception {
        PvcTestFixture jm = new PvcTestFixture(tmp);
        CompletedCheckpointStore store = recover(jm, 3);
        CheckpointsCleaner cleaner = new CheckpointsCleaner();
        // 8..12 crosses a digit boundary: lexical order of unpadded names would be wrong.
        for (long id = 8; id <= 12; id++) {
            store.addCheckpointAndSubsumeOldestOne(checkpoint(id), cleaner, () -> {});
        }
        assertThat(ids(store)).containsExactly(10L, 11L, 12L);
        assertThat(pointerFiles(jm)).containsExactly(
                PvcHaLayout.checkpointName(10), PvcHaLayout.checkpointName(11), PvcHaLayout.checkpointName(12));

        // "Crash": no shutdown; a new JobManager recovers the same checkpoints, latest last.
        CompletedCheckpointStore recovered = recover(jm.restart(), 3);
        assertThat(ids(recovered)).containsExactly(10L, 11L, 12L);
        assertThat(recovered.getLatestCheckpoint().getCheckpointID()).isEqualTo(12L);
    }

    @Test
    void noCheckpointYetIsACleanStart() throws Exception {
        assertThat(recover(new PvcTestFixture(tmp), 1).getAllCheckpoints()).isEmpty();
    }

    @Test
    void corruptCheckpointPointerFailsRecoveryLoudly() throws Exception {
        PvcTestFixture jm = new PvcTestFixture(tmp);
        CompletedCheckpointStore store = recover(jm, 2);
        store.addCheckpointAndSubsumeOldestOne(checkpoint(1), new CheckpointsCleaner(), () -> {});
        Path pointer = jm.layout.checkpoints(job.toHexString()).resolve(PvcHaLayout.checkpointName(1));
        Files.write(pointer, new byte[] {'F', 'F', 'H', 'A', 1});
        assertThatThrownBy(() -> recover(jm.restart(), 2)).hasMessageContaining(pointer.toString());
    }

    @Test
    void counterSurvivesCrashAndIsRemovedOnlyWhenGloballyTerminal() throws Exception {
        PvcTestFixture jm = new PvcTestFixture(tmp);
        CheckpointIDCounter counter = factory(jm).createCheckpointIDCounter(job);
        counter.start();
        assertThat(counter.getAndIncrement()).isEqualTo(1);
        assertThat(counter.getAndIncrement()).isEqualTo(2);

        // Crash, then a non-terminal shutdown (suspension): the counter stays.
        PvcTestFixture second = jm.restart();
        CheckpointIDCounter after = factory(second).createCheckpointIDCounter(job);
        after.start();
        assertThat(after.getAndIncrement()).isEqualTo(3);
        after.shutdown(JobStatus.SUSPENDED).get();
        Path file = second.layout.job(job.toHexString()).resolve(PvcHaLayout.CHECKPOINT_COUNTER);
        assertThat(file).exists();

        CheckpointIDCounter third = factory(second.restart()).createCheckpointIDCounter(job);
        third.start();
        assertThat(third.get()).isEqualTo(4);
        third.shutdown(JobStatus.FINISHED).get();
        assertThat(file).doesNotExist();
    }

    @Test
    void fencedCounterDoesNotHandOutIds() throws Exception {
        PvcTestFixture jm = new PvcTestFixture(tmp);
        CheckpointIDCounter counter = factory(jm).createCheckpointIDCounter(job);
        counter.start();
        counter.getAndIncrement();
        jm.restart();
        assertThatThrownBy(counter::getAndIncrement).isInstanceOf(io.flinkfleet.ha.core.FencedException.class);
    }
}
