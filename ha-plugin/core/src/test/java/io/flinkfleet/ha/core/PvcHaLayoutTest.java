package io.flinkfleet.ha.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

class PvcHaLayoutTest {
    @Test
    void checkpointNamesSortExactlyById() {
        long[] ids = {1, 2, 9, 10, 11, 99, 100, 1_000_000, Long.MAX_VALUE};
        List<String> names = new ArrayList<>();
        for (int i = ids.length - 1; i >= 0; i--) {
            names.add(PvcHaLayout.checkpointName(ids[i]));
        }
        Collections.sort(names);
        for (int i = 0; i < ids.length; i++) {
            assertThat(PvcHaLayout.checkpointId(names.get(i))).isEqualTo(ids[i]);
        }
    }

    @Test
    void foreignNamesAreNotCheckpoints() {
        assertThat(PvcHaLayout.checkpointId("checkpoint-12")).isEqualTo(-1);
        assertThat(PvcHaLayout.checkpointId("checkpoint-counter")).isEqualTo(-1);
        assertThat(PvcHaLayout.checkpointId("other")).isEqualTo(-1);
    }
}
