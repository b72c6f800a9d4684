package io.flinkfleet.ha.core;

import com.sun.net.httpserver.HttpExchange;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Serves the leader files of the volume read-only over HTTP ({@code GET /leader/<component>}),
 * byte for byte (framed and checksummed), for TaskManagers and clients that do not mount the
 * volume (e.g. a ReadWriteOnce PVC on a multi-node cluster). Runs in the JobManager only.
 */
public final class LeaderFileServer implements AutoCloseable {
    public static final String PATH = "/leader/";
    private static final Pattern COMPONENT = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,200}");

    private final HaHttpServer server;

    private LeaderFileServer(HaHttpServer server) {
        this.server = server;
    }

    /** Binds and starts; fails if the port is taken (the JobManager must not start silently without it). */
    public static LeaderFileServer start(String bindHost, int port, Path leadersDir) throws IOException {
        return new LeaderFileServer(
                HaHttpServer.start(bindHost, port, "pvc-ha-leader-server", PATH, exchange -> handle(exchange, leadersDir)));
    }

    private static void handle(HttpExchange exchange, Path leadersDir) throws IOException {
        try (exchange) {
            String component = exchange.getRequestURI().getPath().substring(PATH.length());
            if (!"GET".equals(exchange.getRequestMethod()) || !COMPONENT.matcher(component).matches()) {
                exchange.sendResponseHeaders(400, -1);
                return;
            }
            Optional<byte[]> bytes = DurableFiles.readIfExists(leadersDir.resolve(component));
            if (bytes.isEmpty()) {
                exchange.sendResponseHeaders(404, -1);
                return;
            }
            exchange.getResponseHeaders().set("Content-Type", "application/octet-stream");
            exchange.sendResponseHeaders(200, bytes.get().length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes.get());
            }
        }
    }

    public int port() {
        return server.port();
    }

    @Override
    public void close() {
        server.close();
    }
}
