package io.flinkfleet.ha.core;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Reads leader records from one or more {@link LeaderFileServer}s. With several servers (e.g.
 * two JobManager hosts) the record with the newest epoch wins; an unreachable server is
 * skipped, and if none answers the read fails transiently (the last known leader is kept).
 */
public final class HttpLeaderRecordSource implements LeaderRecordSource {
    private final List<URI> servers;
    private final int timeoutMs;

    public HttpLeaderRecordSource(List<URI> servers, Duration timeout) {
        if (servers.isEmpty()) {
            throw new IllegalArgumentException("No leader server configured");
        }
        this.servers = List.copyOf(servers);
        this.timeoutMs = (int) Math.max(100, timeout.toMillis());
    }

    @Override
    public Optional<HaRecord> read(String componentId) throws IOException {
        Optional<HaRecord> newest = Optional.empty();
        IOException lastError = null;
        boolean anyAnswered = false;
        for (URI base : servers) {
            URI uri = base.resolve(LeaderFileServer.PATH + componentId);
            HttpURLConnection c = (HttpURLConnection) uri.toURL().openConnection();
            c.setConnectTimeout(timeoutMs);
            c.setReadTimeout(timeoutMs);
            try (InputStream in = c.getInputStream()) {
                HaRecord r = HaRecord.decode(Path.of(uri.toString()), in.readAllBytes());
                anyAnswered = true;
                if (newest.isEmpty() || r.epoch() > newest.get().epoch()) {
                    newest = Optional.of(r);
                }
            } catch (FileNotFoundException e) {
                anyAnswered = true; // 404: that server has no leader for the component
            } catch (CorruptHaFileException e) {
                throw e;
            } catch (IOException e) {
                lastError = e;
            } finally {
                c.disconnect();
            }
        }
        if (!anyAnswered) {
            throw new IOException("No leader server answered for " + componentId + " " + servers, lastError);
        }
        return newest;
    }

    @Override
    public String toString() {
        return "HttpLeaderRecordSource" + servers;
    }
}
