package io.flinkfleet.ha.${flinkfleet.adapter.package};

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flinkfleet.ha.core.CorruptHaFileException;
import io.flinkfleet.ha.core.FencedException;
import io.flinkfleet.ha.core.FileIo;
import io.flinkfleet.ha.core.ForwardingFileIo;
import io.flinkfleet.ha.core.NioFileIo;
import io.flinkfleet.ha.core.TestingPowerCutFileIo;
import io.flinkfleet.ha.core.WriteStep;

import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.runtime.persistence.IntegerResourceVersion;
import org.apache.flink.runtime.persistence.PossibleInconsistentStateException;
import org.apache.flink.runtime.persistence.StateHandleStore;
import org.apache.flink.runtime.state.RetrievableStateHandle;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import java.io.IOException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class PvcStateHandleStoreTest {
    @TempDir Path tmp;
    private PvcTestFixture jm;
    private PvcStateHandleStore<String> store;

    @BeforeEach
    void setUp() throws Exception {
        jm = new PvcTestFixture(tmp);
        store = jm.store("entries");
    }

    private long stateFiles() throws Exception {
        Path dir = tmp.resolve("storage");
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.count();
        }
    }

    @Test
    void addGetReplaceRemove() throws Exception {
        store.addAndLock("a", "one");
        assertThat(store.getAndLock("a").retrieveState()).isEqualTo("one");
        IntegerResourceVersion v = store.exists("a");
        assertThat(v.isExisting()).isTrue();
        store.replace("a", v, "two");
        assertThat(store.getAndLock("a").retrieveState()).isEqualTo("two");
        assertThat(stateFiles()).as("old state discarded after replace").isEqualTo(1);
        assertThat(store.getAllHandles()).containsExactly("a");
        assertThat(store.releaseAndTryRemove("a")).isTrue();
        assertThat(store.exists("a").isExisting()).isFalse();
        assertThat(stateFiles()).isZero();
        assertThat(store.releaseAndTryRemove("a")).as("idempotent").isTrue();
    }

    @Test
    void addingAnExistingNameFailsAndDiscardsNewState() throws Exception {
        store.addAndLock("a", "one");
        assertThatThrownBy(() -> store.addAndLock("a", "again")).isInstanceOf(StateHandleStore.AlreadyExistException.class);
        assertThat(stateFiles()).isEqualTo(1);
    }

    @Test
    void replaceWithStaleVersionFails() throws Exception {
        store.addAndLock("a", "one");
        IntegerResourceVersion v = store.exists("a");
        store.replace("a", v, "two");
        assertThatThrownBy(() -> store.replace("a", v, "three")).isInstanceOf(StateHandleStore.NotExistException.class);
    }

    /** After a crash at any step of add, a restarted JobManager sees the old or the new entry, intact. */
    @ParameterizedTest
    @EnumSource(WriteStep.class)
    void crashDuringAddRecoversLastDurableState(WriteStep step) throws Exception {
        store.addAndLock("a", "first");
        jm.crashAfter(step);
        assertThatThrownBy(() -> store.addAndLock("b", "second")).isInstanceOf(PvcTestFixture.SimulatedCrash.class);

        PvcStateHandleStore<String> recovered = jm.restart().store("entries");
        List<Tuple2<RetrievableStateHandle<String>, String>> all = recovered.getAllAndLock();
        List<String> names = all.stream().map(t -> t.f1).collect(Collectors.toList());
        boolean committed = step == WriteStep.RENAMED || step == WriteStep.DIRECTORY_FSYNCED;
        assertThat(names).isEqualTo(committed ? Arrays.asList("a", "b") : List.of("a"));
        for (Tuple2<RetrievableStateHandle<String>, String> t : all) {
            assertThat(t.f0.retrieveState()).isIn("first", "second");
        }
    }

    @ParameterizedTest
    @EnumSource(WriteStep.class)
    void crashDuringReplaceRecoversOldOrNew(WriteStep step) throws Exception {
        store.addAndLock("a", "old");
        jm.crashAfter(step);
        assertThatThrownBy(() -> store.replace("a", store.exists("a"), "new"))
                .isInstanceOf(PvcTestFixture.SimulatedCrash.class);
        String recovered = jm.restart().<String>store("entries").getAndLock("a").retrieveState();
        boolean committed = step == WriteStep.RENAMED || step == WriteStep.DIRECTORY_FSYNCED;
        assertThat(recovered).isEqualTo(committed ? "new" : "old");
    }

    @Test
    void failureBeforeCommitDiscardsState() throws Exception {
        jm.failAfter(WriteStep.TEMP_FSYNCED);
        assertThatThrownBy(() -> store.addAndLock("a", "x"))
                .isNotInstanceOf(PossibleInconsistentStateException.class);
        assertThat(store.exists("a").isExisting()).isFalse();
        assertThat(stateFiles()).isZero();
    }

    @Test
    void unknownCommitOutcomeKeepsStateAndSaysSo() throws Exception {
        jm.failAfter(WriteStep.RENAMED);
        assertThatThrownBy(() -> store.addAndLock("a", "x")).isInstanceOf(PossibleInconsistentStateException.class);
        assertThat(stateFiles()).as("state a restarted JobManager may reference is kept").isEqualTo(1);
        assertThat(jm.restart().<String>store("entries").getAndLock("a").retrieveState()).isEqualTo("x");
    }

    /** State in a separate file is durable before its pointer: fails without that file's fsyncs. */
    @Test
    void separateStateFileSurvivesPowerCut() throws Exception {
        TestingPowerCutFileIo power = new TestingPowerCutFileIo(tmp);
        jm.io = power;
        store.addAndLock("a", "x".repeat(1000));
        power.powerCut();
        assertThat(jm.restart().<String>store("entries").getAndLock("a").retrieveState()).isEqualTo("x".repeat(1000));
    }

    /**
     * An unknown commit outcome stays one even when removing the temp file fails too: the state
     * a committed pointer may reference is kept (fails if the delete error replaces the outcome).
     */
    @Test
    void failedTempDeleteKeepsTheUnknownOutcomeAndTheState() throws Exception {
        jm.io = new FileIo() {
            @Override
            public void createAndWrite(Path file, byte[] data) throws IOException {
                NioFileIo.INSTANCE.createAndWrite(file, data);
            }

            @Override
            public void force(Path file) throws IOException {
                NioFileIo.INSTANCE.force(file);
            }

            @Override
            public void fsyncDir(Path dir) throws IOException {
                NioFileIo.INSTANCE.fsyncDir(dir);
            }

            @Override
            public void rename(Path from, Path to) throws IOException {
                NioFileIo.INSTANCE.rename(from, to); // happened, but reported as failed (NFS retry)
                throw new IOException("EIO after rename");
            }

            @Override
            public boolean delete(Path path) throws IOException {
                throw new IOException("EROFS");
            }

            @Override
            public void createDirectory(Path dir) throws IOException {
                NioFileIo.INSTANCE.createDirectory(dir);
            }
        };
        assertThatThrownBy(() -> store.addAndLock("a", "x")).isInstanceOf(PossibleInconsistentStateException.class);
        jm.io = NioFileIo.INSTANCE;
        assertThat(stateFiles()).as("state a committed pointer references is kept").isEqualTo(1);
        assertThat(jm.restart().<String>store("entries").getAndLock("a").retrieveState()).isEqualTo("x");
    }

    @Test
    void corruptPointerFailsRecoveryNamingTheFile() throws Exception {
        store.addAndLock("a", "x");
        store.addAndLock("b", "y");
        Path file = jm.layout.root().resolve("entries").resolve("b");
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, Arrays.copyOf(bytes, bytes.length / 2));
        assertThatThrownBy(() -> jm.restart().store("entries").getAllAndLock())
                .isInstanceOf(CorruptHaFileException.class)
                .hasMessageContaining(file.toString());
    }

    @Test
    void pointerToGarbageFailsNamingTheFile() throws Exception {
        jm.layout.root().resolve("entries").toFile().mkdirs();
        new io.flinkfleet.ha.core.FileRecordStore(jm.layout.root().resolve("entries"), jm.fence, jm.files)
                .write("a", 1, false, new byte[] {1, 2, 3});
        assertThatThrownBy(() -> store.getAndLock("a"))
                .isInstanceOf(CorruptHaFileException.class)
                .hasMessageContaining("entries/a");
    }

    @Test
    void olderEpochIsFencedAndItsStateDiscarded() throws Exception {
        store.addAndLock("a", "from-old");
        PvcTestFixture newer = jm.restart();
        newer.<String>store("entries").replace("a", IntegerResourceVersion.valueOf(1), "from-new");
        long filesBefore = stateFiles();
        assertThatThrownBy(() -> store.addAndLock("b", "zombie")).isInstanceOf(FencedException.class);
        assertThatThrownBy(() -> store.releaseAndTryRemove("a")).isInstanceOf(FencedException.class);
        assertThat(stateFiles()).isEqualTo(filesBefore);
        assertThat(newer.<String>store("entries").getAndLock("a").retrieveState()).isEqualTo("from-new");
        assertThat(newer.<String>store("entries").exists("b").isExisting()).isFalse();
    }

    /** A crash mid-removal must not leave a live pointer to discarded state. */
    /**
     * A crash right after the pointer was marked for deletion hides the entry at once, and the
     * next leader collects the marker when it takes the lock: state discarded, marker gone.
     */
    @Test
    void entryMarkedForDeletionBeforeACrashIsCollectedOnStart() throws Exception {
        store.addAndLock("a", "x");
        jm.io = new ForwardingFileIo(NioFileIo.INSTANCE) {
            @Override
            public void rename(Path from, Path to) throws IOException {
                super.rename(from, to);
                throw new PvcTestFixture.SimulatedCrash(WriteStep.RENAMED); // killed right after marking
            }
        };
        assertThatThrownBy(() -> store.releaseAndTryRemove("a")).isInstanceOf(PvcTestFixture.SimulatedCrash.class);
        jm.io = NioFileIo.INSTANCE;
        assertThat(stateFiles()).as("state not discarded yet").isEqualTo(1);

        PvcTestFixture next = PvcTestFixture.contender(tmp);
        PvcStateHandleStore<String> recovered = next.store("entries");
        assertThat(recovered.getAllAndLock()).isEmpty();
        assertThat(recovered.exists("a").isExisting()).isFalse();
        TestingLeaderElectionListener l = new TestingLeaderElectionListener();
        PvcLeaderElectionDriverFactory factory =
                new PvcLeaderElectionDriverFactory(next.layout, next.fence, next.files, java.time.Duration.ofMillis(100));
        try (PvcLeaderElectionDriver d = (PvcLeaderElectionDriver) factory.create(l)) {
            l.next(TestingLeaderElectionListener.Granted.class, java.time.Duration.ofSeconds(60));
        } finally {
            factory.releaseLock();
        }
        assertThat(stateFiles()).as("collected when the next leader took the lock").isZero();
        try (Stream<Path> left = Files.list(next.layout.root().resolve("entries"))) {
            assertThat(left).isEmpty();
        }
    }

    /** Removal writes no data before it frees space: it works on a full volume. */
    @Test
    void removalWorksOnAFullVolume() throws Exception {
        store.addAndLock("a", "x");
        jm.io = new ForwardingFileIo(NioFileIo.INSTANCE) {
            @Override
            public void createAndWrite(Path file, byte[] data) throws IOException {
                throw new IOException("No space left on device");
            }
        };
        assertThat(store.releaseAndTryRemove("a")).isTrue();
        assertThat(store.exists("a").isExisting()).isFalse();
        assertThat(stateFiles()).isZero();
        try (Stream<Path> left = Files.list(jm.layout.root().resolve("entries"))) {
            assertThat(left).isEmpty();
        }
    }

    /** Small state lives in the pointer: no state file, and removal is a single delete. */
    @ParameterizedTest
    @EnumSource(WriteStep.class)
    void inlineStateIsAtomicWithItsPointer(WriteStep step) throws Exception {
        PvcStateHandleStore<String> inline = jm.store("inline", 1024);
        inline.addAndLock("a", "first");
        jm.crashAfter(step);
        assertThatThrownBy(() -> inline.replace("a", inline.exists("a"), "second"))
                .isInstanceOf(PvcTestFixture.SimulatedCrash.class);
        PvcStateHandleStore<String> recovered = jm.restart().store("inline", 1024);
        boolean committed = step == WriteStep.RENAMED || step == WriteStep.DIRECTORY_FSYNCED;
        assertThat(recovered.getAndLock("a").retrieveState()).isEqualTo(committed ? "second" : "first");
        assertThat(stateFiles()).isZero();
        assertThat(recovered.releaseAndTryRemove("a")).isTrue();
        assertThat(recovered.getAllHandles()).isEmpty();
    }

    @Test
    void clearEntriesRemovesPointersOnly() throws Exception {
        store.addAndLock("a", "x");
        store.clearEntries();
        assertThat(store.getAllHandles()).isEmpty();
        assertThat(stateFiles()).isEqualTo(1);
    }
}
