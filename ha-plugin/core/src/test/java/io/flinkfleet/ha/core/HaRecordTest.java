package io.flinkfleet.ha.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class HaRecordTest {
    private static final Path FILE = Path.of("/volume/ha/jobs/x/checkpoints/checkpoint-0000000000000000007");

    @Test
    void roundTrip() throws Exception {
        HaRecord r = HaRecord.decode(FILE, new HaRecord(7, 3, true, new byte[] {1, 2, 3}).encode());
        assertThat(r.epoch()).isEqualTo(7);
        assertThat(r.version()).isEqualTo(3);
        assertThat(r.markedForDeletion()).isTrue();
        assertThat(r.payload()).containsExactly(1, 2, 3);
    }

    @Test
    void everyTruncationIsDetectedAndNamesTheFile() {
        byte[] full = new HaRecord(1, 1, false, "payload".getBytes()).encode();
        for (int len = 0; len < full.length; len++) {
            byte[] cut = Arrays.copyOf(full, len);
            assertThatThrownBy(() -> HaRecord.decode(FILE, cut))
                    .as("truncated to %d bytes", len)
                    .isInstanceOf(CorruptHaFileException.class)
                    .hasMessageContaining(FILE.toString());
        }
    }

    @Test
    void everySingleBitFlipIsDetected() {
        byte[] full = new HaRecord(1, 1, false, "payload".getBytes()).encode();
        for (int i = 0; i < full.length; i++) {
            byte[] bad = full.clone();
            bad[i] ^= 0x10;
            assertThatThrownBy(() -> HaRecord.decode(FILE, bad))
                    .as("flip in byte %d", i)
                    .isInstanceOf(CorruptHaFileException.class)
                    .hasMessageContaining(FILE.toString());
        }
    }

    @Test
    void trailingGarbageIsDetected() {
        byte[] full = new HaRecord(1, 1, false, new byte[0]).encode();
        byte[] longer = Arrays.copyOf(full, full.length + 1);
        assertThatThrownBy(() -> HaRecord.decode(FILE, longer)).isInstanceOf(CorruptHaFileException.class);
    }
}
