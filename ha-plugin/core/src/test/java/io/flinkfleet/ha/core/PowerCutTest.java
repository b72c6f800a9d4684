package io.flinkfleet.ha.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * What a write promises once it returned must survive a power cut, which drops every
 * unforced byte and every directory entry not fsynced ({@link TestingPowerCutFileIo}). Each test
 * here fails when one {@code force()} or directory fsync of the durable-write code is removed
 * (see the README's table).
 */
class PowerCutTest {
    @TempDir Path dir;
    private TestingPowerCutFileIo io;
    private DurableFiles files;

    @BeforeEach
    void setUp() throws IOException {
        io = new TestingPowerCutFileIo(dir);
        files = new DurableFiles(io);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Fails without the temp file's force (empty file) or the directory fsync (old content). */
    @Test
    void atomicWriteThatReturnedSurvivesPowerCut() throws IOException {
        Path target = dir.resolve("entry");
        files.writeAtomically(target, bytes("old"), DurableFiles.PreCommitCheck.NONE);
        files.writeAtomically(target, bytes("new"), DurableFiles.PreCommitCheck.NONE);
        io.powerCut();
        assertThat(Files.readString(target)).isEqualTo("new");
    }

    /** Fails without the fsync of each new directory's parent. */
    @Test
    void writeIntoNewDirectoriesSurvivesPowerCut() throws IOException {
        Path target = dir.resolve("a/b/entry");
        files.writeAtomically(target, bytes("v"), DurableFiles.PreCommitCheck.NONE);
        io.powerCut();
        assertThat(target).exists();
        assertThat(Files.readString(target)).isEqualTo("v");
    }

    /** A crash anywhere in a write, then a power cut: old or new content, never a torn file. */
    @ParameterizedTest
    @EnumSource(WriteStep.class)
    void crashThenPowerCutLeavesOldOrNewNeverTorn(WriteStep crashAt) throws IOException {
        Path target = dir.resolve("entry");
        files.writeAtomically(target, bytes("old"), DurableFiles.PreCommitCheck.NONE);
        DurableFiles crashing = new DurableFiles((step, t) -> {
            if (step == crashAt) {
                throw new SimulatedCrash(step);
            }
        }, io);
        assertThatThrownBy(() -> crashing.writeAtomically(target, bytes("new"), DurableFiles.PreCommitCheck.NONE))
                .isInstanceOf(SimulatedCrash.class);
        io.powerCut();
        String after = Files.readString(target);
        if (crashAt == WriteStep.DIRECTORY_FSYNCED) {
            assertThat(after).isEqualTo("new");
        } else if (crashAt == WriteStep.RENAMED) {
            assertThat(after).isIn("old", "new");
        } else {
            assertThat(after).isEqualTo("old");
        }
    }

    /** Fails without the force or the directory fsync of an exclusive create. */
    @Test
    void exclusiveCreateSurvivesPowerCut() throws IOException {
        Path f = dir.resolve("x/epoch");
        files.createExclusively(f, bytes("owner"));
        io.powerCut();
        assertThat(Files.readString(f)).isEqualTo("owner");
    }

    /** Fails without the directory fsync after an unlink. */
    @Test
    void durableDeleteSurvivesPowerCut() throws IOException {
        Path f = dir.resolve("entry");
        files.writeAtomically(f, bytes("v"), DurableFiles.PreCommitCheck.NONE);
        files.deleteDurably(f);
        io.powerCut();
        assertThat(f).doesNotExist();
    }

    /** Fails without the directory fsync after a durable rename. */
    @Test
    void durableRenameSurvivesPowerCut() throws IOException {
        Path a = dir.resolve("a");
        Path b = dir.resolve("b");
        files.writeAtomically(a, bytes("v"), DurableFiles.PreCommitCheck.NONE);
        files.renameDurably(a, b, DurableFiles.PreCommitCheck.NONE);
        io.powerCut();
        assertThat(a).doesNotExist();
        assertThat(Files.readString(b)).isEqualTo("v");
    }

    /** A taken epoch is never taken again after a power cut (else two writers share it). */
    @Test
    void takenEpochSurvivesPowerCut() throws IOException {
        PvcHaLayout layout = new PvcHaLayout(dir.resolve("meta"));
        EpochFence first = new EpochFence(layout.epochs(), files);
        long e = first.acquire();
        io.powerCut();
        EpochFence next = new EpochFence(layout.epochs(), files);
        assertThat(next.acquire()).isEqualTo(e + 1);
    }

    /** Checkpoint ids handed out before a power cut are never handed out again. */
    @Test
    void counterSurvivesPowerCut() throws IOException {
        PvcHaLayout layout = new PvcHaLayout(dir.resolve("meta"));
        EpochFence fence = new EpochFence(layout.epochs(), files);
        fence.acquire();
        DurableCounter c = new DurableCounter(new FileRecordStore(layout.job("j"), fence, files), "counter", 1);
        assertThat(c.getAndIncrement()).isEqualTo(1);
        assertThat(c.getAndIncrement()).isEqualTo(2);
        io.powerCut();
        EpochFence next = new EpochFence(layout.epochs(), files);
        next.acquire();
        DurableCounter after = new DurableCounter(new FileRecordStore(layout.job("j"), next, files), "counter", 1);
        assertThat(after.get()).isEqualTo(3);
    }

    /** A record store's write and delete survive a power cut. */
    @Test
    void recordStoreWriteAndDeleteSurvivePowerCut() throws IOException {
        PvcHaLayout layout = new PvcHaLayout(dir.resolve("meta"));
        EpochFence fence = new EpochFence(layout.epochs(), files);
        fence.acquire();
        FileRecordStore s = new FileRecordStore(layout.executionPlans(), fence, files);
        s.write("keep", 1, false, bytes("k"));
        s.write("gone", 1, false, bytes("g"));
        s.delete("gone");
        io.powerCut();
        EpochFence next = new EpochFence(layout.epochs(), files);
        next.acquire();
        FileRecordStore after = new FileRecordStore(layout.executionPlans(), next, files);
        assertThat(after.list()).containsExactly("keep");
        assertThat(after.read("keep").orElseThrow().payload()).isEqualTo(bytes("k"));
    }

    /** The fencing check runs before every unlink of a tree delete, not once for the tree. */
    @Test
    void treeDeleteIsCheckedBeforeEveryUnlink() throws IOException {
        for (int i = 0; i < 5; i++) {
            files.writeAtomically(dir.resolve("t/f" + i), bytes("x"), DurableFiles.PreCommitCheck.NONE);
        }
        AtomicInteger allowed = new AtomicInteger(2);
        assertThatThrownBy(() -> files.deleteTreeDurably(dir.resolve("t"), () -> {
            if (allowed.getAndDecrement() <= 0) {
                throw new FencedException(1, "test: leadership lost mid-delete");
            }
        })).isInstanceOf(FencedException.class);
        try (var s = Files.list(dir.resolve("t"))) {
            assertThat(s).hasSize(3);
        }
    }

    /** A failed temp delete is attached to, never replaces, the real error (unknown outcome). */
    @Test
    void failedTempDeleteDoesNotHideAnUnknownCommitOutcome() throws IOException {
        FileIo renameFailsAndDeleteFails = new ForwardingFileIo(() -> io) {
            @Override
            public void rename(Path from, Path to) throws IOException {
                throw new IOException("EIO during rename (may have happened)");
            }

            @Override
            public boolean delete(Path path) throws IOException {
                throw new IOException("EROFS: file system remounted read-only");
            }
        };
        Path target = dir.resolve("entry");
        assertThatThrownBy(() -> new DurableFiles(renameFailsAndDeleteFails)
                        .writeAtomically(target, bytes("v"), DurableFiles.PreCommitCheck.NONE))
                .isInstanceOf(CommitOutcomeUnknownException.class)
                .satisfies(t -> assertThat(t.getSuppressed()).hasSize(1));
    }
}
