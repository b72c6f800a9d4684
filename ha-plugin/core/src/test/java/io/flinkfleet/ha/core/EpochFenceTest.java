package io.flinkfleet.ha.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EpochFenceTest {
    @TempDir Path dir;

    @Test
    void epochsIncreaseAcrossWriters() throws Exception {
        EpochFence a = new EpochFence(dir);
        EpochFence b = new EpochFence(dir);
        assertThat(a.acquire()).isEqualTo(1);
        assertThat(a.acquire()).as("idempotent").isEqualTo(1);
        assertThat(b.acquire()).isEqualTo(2);
        assertThat(EpochFence.latestEpoch(dir)).isEqualTo(2);
    }

    @Test
    void olderWriterIsFencedAndStaysFenced() throws Exception {
        EpochFence old = new EpochFence(dir);
        old.acquire();
        old.checkNotFenced();
        new EpochFence(dir).acquire();
        assertThat(old.isFenced()).isTrue();
        assertThatThrownBy(old::checkNotFenced).isInstanceOf(FencedException.class).hasMessageContaining("epoch 1");
    }

    @Test
    void newestWriterIsNotFenced() throws Exception {
        new EpochFence(dir).acquire();
        EpochFence newest = new EpochFence(dir);
        newest.acquire();
        newest.checkNotFenced();
        assertThat(newest.isFenced()).isFalse();
    }

    @Test
    void writesWithoutEpochAreRejected() {
        assertThatThrownBy(() -> new EpochFence(dir).checkNotFenced()).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void readingNewerRecordFencesTheReader() throws Exception {
        EpochFence f = new EpochFence(dir);
        f.acquire();
        assertThatThrownBy(() -> f.checkRecordEpoch(5, dir.resolve("x"))).isInstanceOf(FencedException.class);
        assertThat(f.isFenced()).isTrue();
    }
}
