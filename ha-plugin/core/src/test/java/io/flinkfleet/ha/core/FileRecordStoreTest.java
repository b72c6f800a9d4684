package io.flinkfleet.ha.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class FileRecordStoreTest {
    @TempDir Path root;
    private PvcHaLayout layout;
    private EpochFence fence;

    @BeforeEach
    void setUp() throws Exception {
        layout = new PvcHaLayout(root);
        fence = new EpochFence(layout.epochs());
        fence.acquire();
    }

    private FileRecordStore store(DurableFiles files) {
        return new FileRecordStore(layout.executionPlans(), fence, files);
    }

    @Test
    void writeReadListDelete() throws Exception {
        FileRecordStore s = store(new DurableFiles());
        s.write("b", 1, false, new byte[] {2});
        s.write("a", 1, false, new byte[] {1});
        assertThat(s.list()).containsExactly("a", "b");
        assertThat(s.read("a").orElseThrow().payload()).containsExactly(1);
        assertThat(s.read("a").orElseThrow().epoch()).isEqualTo(fence.epoch());
        s.delete("a");
        assertThat(s.read("a")).isEmpty();
        assertThat(s.list()).containsExactly("b");
    }

    /** Recovery after a crash at any step reads the last durable state. */
    @ParameterizedTest
    @EnumSource(WriteStep.class)
    void recoveryAfterCrashReadsLastDurableState(WriteStep crashAt) throws Exception {
        store(new DurableFiles()).write("e", 1, false, "v1".getBytes(StandardCharsets.UTF_8));
        FileRecordStore crashing = store(new DurableFiles((step, t) -> {
            if (step == crashAt) {
                throw new SimulatedCrash(step);
            }
        }));
        assertThatThrownBy(() -> crashing.write("e", 2, false, "v2".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(SimulatedCrash.class);

        // A new JobManager: new epoch, fresh store object, same directory.
        EpochFence next = new EpochFence(layout.epochs());
        next.acquire();
        FileRecordStore recovered = new FileRecordStore(layout.executionPlans(), next, new DurableFiles());
        HaRecord r = recovered.read("e").orElseThrow();
        boolean committed = crashAt == WriteStep.RENAMED || crashAt == WriteStep.DIRECTORY_FSYNCED;
        assertThat(new String(r.payload(), StandardCharsets.UTF_8)).isEqualTo(committed ? "v2" : "v1");
        assertThat(recovered.list()).containsExactly("e");
        recovered.cleanupTempFiles();
        try (var s = Files.list(layout.executionPlans())) {
            assertThat(s).hasSize(1);
        }
    }

    @Test
    void corruptFileFailsWithItsName() throws Exception {
        FileRecordStore s = store(new DurableFiles());
        s.write("e", 1, false, new byte[100]);
        Path f = layout.executionPlans().resolve("e");
        byte[] b = Files.readAllBytes(f);
        b[40] ^= 1;
        Files.write(f, b);
        assertThatThrownBy(() -> s.read("e")).isInstanceOf(CorruptHaFileException.class).hasMessageContaining(f.toString());
    }

    @Test
    void truncatedFileFailsWithItsName() throws Exception {
        FileRecordStore s = store(new DurableFiles());
        s.write("e", 1, false, new byte[100]);
        Path f = layout.executionPlans().resolve("e");
        Files.write(f, Arrays.copyOf(Files.readAllBytes(f), 50));
        assertThatThrownBy(() -> s.read("e")).isInstanceOf(CorruptHaFileException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining("truncated");
    }

    @Test
    void emptyFileFailsWithItsName() throws Exception {
        Files.createDirectories(layout.executionPlans());
        Path f = layout.executionPlans().resolve("e");
        Files.write(f, new byte[0]);
        assertThatThrownBy(() -> store(new DurableFiles()).read("e")).isInstanceOf(CorruptHaFileException.class)
                .hasMessageContaining(f.toString());
    }

    @Test
    void olderEpochWriterIsFencedAndNeverCommits() throws Exception {
        FileRecordStore old = store(new DurableFiles());
        old.write("e", 1, false, "old-epoch".getBytes(StandardCharsets.UTF_8));
        EpochFence newer = new EpochFence(layout.epochs());
        newer.acquire();
        FileRecordStore current = new FileRecordStore(layout.executionPlans(), newer, new DurableFiles());
        current.write("e", 2, false, "new-epoch".getBytes(StandardCharsets.UTF_8));

        assertThatThrownBy(() -> old.write("e", 3, false, "zombie".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(FencedException.class);
        assertThatThrownBy(() -> old.delete("e")).isInstanceOf(FencedException.class);
        assertThat(new String(current.read("e").orElseThrow().payload(), StandardCharsets.UTF_8)).isEqualTo("new-epoch");
    }

    /** A newer JobManager taking over between the old one's fsync and rename aborts the commit. */
    @Test
    void takeoverDuringWriteAbortsTheCommit() throws Exception {
        FileRecordStore old = store(new DurableFiles((step, t) -> {
            if (step == WriteStep.TEMP_FSYNCED) {
                new EpochFence(layout.epochs()).acquire();
            }
        }));
        assertThatThrownBy(() -> old.write("e", 1, false, new byte[] {1})).isInstanceOf(FencedException.class);
        assertThat(layout.executionPlans().resolve("e")).doesNotExist();
    }

    @Test
    void rejectsPathLikeNames() {
        assertThatThrownBy(() -> store(new DurableFiles()).pathOf("../x")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> store(new DurableFiles()).pathOf(".hidden")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void counterSurvivesRestart() throws Exception {
        DurableCounter c = new DurableCounter(store(new DurableFiles()), "counter", 1);
        assertThat(c.getAndIncrement()).isEqualTo(1);
        assertThat(c.getAndIncrement()).isEqualTo(2);
        EpochFence next = new EpochFence(layout.epochs());
        next.acquire();
        DurableCounter after = new DurableCounter(new FileRecordStore(layout.executionPlans(), next, new DurableFiles()), "counter", 1);
        assertThat(after.get()).isEqualTo(3);
    }
}
