package io.flinkfleet.ha.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class DurableFilesTest {
    @TempDir Path dir;

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** A crash at any step leaves either the old or the new content, never a torn file. */
    @ParameterizedTest
    @EnumSource(WriteStep.class)
    void crashAtEachStepLeavesOldOrNewContent(WriteStep crashAt) throws IOException {
        Path target = dir.resolve("entry");
        new DurableFiles().writeAtomically(target, bytes("old"), DurableFiles.PreCommitCheck.NONE);

        DurableFiles crashing = new DurableFiles((step, t) -> {
            if (step == crashAt) {
                throw new SimulatedCrash(step);
            }
        });
        assertThatThrownBy(() -> crashing.writeAtomically(target, bytes("new"), DurableFiles.PreCommitCheck.NONE))
                .isInstanceOf(SimulatedCrash.class);

        String after = Files.readString(target);
        if (crashAt == WriteStep.TEMP_WRITTEN || crashAt == WriteStep.TEMP_FSYNCED) {
            assertThat(after).isEqualTo("old");
        } else {
            assertThat(after).isEqualTo("new");
        }
        // The crashed writer's temp file (if any) is hidden from readers.
        try (Stream<Path> s = Files.list(dir)) {
            assertThat(s.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(DurableFiles.TEMP_PREFIX)))
                    .containsExactly("entry");
        }
    }

    @Test
    void ioFailureBeforeCommitKeepsOldContentAndRemovesTemp() throws IOException {
        Path target = dir.resolve("entry");
        new DurableFiles().writeAtomically(target, bytes("old"), DurableFiles.PreCommitCheck.NONE);
        DurableFiles failing = new DurableFiles((step, t) -> {
            if (step == WriteStep.TEMP_FSYNCED) {
                throw new IOException("disk full");
            }
        });
        assertThatThrownBy(() -> failing.writeAtomically(target, bytes("new"), DurableFiles.PreCommitCheck.NONE))
                .isInstanceOf(IOException.class)
                .isNotInstanceOf(CommitOutcomeUnknownException.class);
        assertThat(Files.readString(target)).isEqualTo("old");
        try (Stream<Path> s = Files.list(dir)) {
            assertThat(s).hasSize(1);
        }
    }

    @Test
    void ioFailureAfterRenameIsAnUnknownOutcome() throws IOException {
        Path target = dir.resolve("entry");
        DurableFiles failing = new DurableFiles((step, t) -> {
            if (step == WriteStep.RENAMED) {
                throw new IOException("EIO on directory fsync");
            }
        });
        assertThatThrownBy(() -> failing.writeAtomically(target, bytes("new"), DurableFiles.PreCommitCheck.NONE))
                .isInstanceOf(CommitOutcomeUnknownException.class);
    }

    @Test
    void preCommitCheckAbortsBeforeRename() throws IOException {
        Path target = dir.resolve("entry");
        assertThatThrownBy(() -> new DurableFiles().writeAtomically(target, bytes("new"), () -> {
            throw new FencedException(1, "test");
        })).isInstanceOf(FencedException.class);
        assertThat(target).doesNotExist();
        try (Stream<Path> s = Files.list(dir)) {
            assertThat(s).isEmpty();
        }
    }

    @Test
    void deleteTreeRemovesEverything() throws IOException {
        Files.createDirectories(dir.resolve("a/b"));
        Files.writeString(dir.resolve("a/b/c"), "x");
        new DurableFiles().deleteTreeDurably(dir.resolve("a"));
        assertThat(dir.resolve("a")).doesNotExist();
        new DurableFiles().deleteTreeDurably(dir.resolve("a")); // idempotent
    }
}
