package io.flinkfleet.ha.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LeaderFileServerTest {
    @TempDir Path root;

    private static URI base(LeaderFileServer s) {
        return URI.create("http://127.0.0.1:" + s.port() + "/");
    }

    private static int closedPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void servesLeaderRecordsByteForByte() throws Exception {
        PvcHaLayout layout = new PvcHaLayout(root);
        EpochFence fence = new EpochFence(layout.epochs());
        fence.acquire();
        FileRecordStore leaders = new FileRecordStore(layout.leaders(), fence, new DurableFiles());
        LeaderRecord rm = new LeaderRecord("pekko://rm", UUID.randomUUID());
        leaders.write("resource_manager", 1, false, rm.encode());
        try (LeaderFileServer server = LeaderFileServer.start("127.0.0.1", 0, layout.leaders())) {
            HttpLeaderRecordSource src = new HttpLeaderRecordSource(List.of(base(server)), Duration.ofSeconds(2));
            HaRecord r = src.read("resource_manager").orElseThrow();
            assertThat(r.epoch()).isEqualTo(fence.epoch());
            assertThat(LeaderRecord.decode(root, r.payload())).isEqualTo(rm);
            assertThat(src.read("dispatcher")).isEmpty();

            // One server down, the other answers: still read. None answers: a transient error.
            HttpLeaderRecordSource two = new HttpLeaderRecordSource(
                    List.of(URI.create("http://127.0.0.1:" + closedPort() + "/"), base(server)), Duration.ofSeconds(2));
            assertThat(two.read("resource_manager")).isPresent();
            HttpLeaderRecordSource none = new HttpLeaderRecordSource(
                    List.of(URI.create("http://127.0.0.1:" + closedPort() + "/")), Duration.ofSeconds(2));
            assertThatThrownBy(() -> none.read("resource_manager"))
                    .isInstanceOf(IOException.class).isNotInstanceOf(CorruptHaFileException.class);

            Files.write(layout.leaders().resolve("dispatcher"), new byte[] {1, 2, 3});
            assertThatThrownBy(() -> src.read("dispatcher")).isInstanceOf(CorruptHaFileException.class);
        }
    }
}
