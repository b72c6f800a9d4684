package io.flinkfleet.ha.core;

import com.sun.net.httpserver.HttpExchange;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Serves {@link PvcHaMetrics#scrape()} over HTTP ({@code GET /metrics}, also {@code /}) for
 * Prometheus, on its own port beside Flink's reporter (which runs in a plugin class loader and
 * knows nothing of the HA services). Runs in the JobManager only, standbys included: a standby
 * reports {@code flinkfleet_ha_leader 0} while it waits for the lock.
 */
public final class PvcHaMetricsServer implements AutoCloseable {
    private final HaHttpServer server;

    private PvcHaMetricsServer(HaHttpServer server) {
        this.server = server;
    }

    /** Binds and starts; fails if the port is taken (a JobManager does not start without its configured endpoint). */
    public static PvcHaMetricsServer start(String bindHost, int port, PvcHaMetrics metrics) throws IOException {
        return new PvcHaMetricsServer(
                HaHttpServer.start(bindHost, port, "pvc-ha-metrics-server", "/", exchange -> handle(exchange, metrics)));
    }

    private static void handle(HttpExchange exchange, PvcHaMetrics metrics) throws IOException {
        try (exchange) {
            String path = exchange.getRequestURI().getPath();
            if (!"/metrics".equals(path) && !"/".equals(path)) {
                exchange.sendResponseHeaders(404, -1);
                return;
            }
            if (!"GET".equals(exchange.getRequestMethod())) {
                exchange.sendResponseHeaders(405, -1);
                return;
            }
            byte[] body = metrics.scrape().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", PvcHaMetrics.CONTENT_TYPE);
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
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
