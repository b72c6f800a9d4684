package io.flinkfleet.ha.core;

import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The JDK's HTTP server on one daemon thread: what the {@link LeaderFileServer} and the
 * {@link PvcHaMetricsServer} run on (no dependency beyond the JDK, nothing of Flink's REST stack).
 */
final class HaHttpServer implements AutoCloseable {
    private final HttpServer server;
    private final ExecutorService executor;

    private HaHttpServer(HttpServer server, ExecutorService executor) {
        this.server = server;
        this.executor = executor;
    }

    /** Binds and starts; fails if the port is taken (a JobManager does not start without its configured endpoint). */
    static HaHttpServer start(String bindHost, int port, String threadName, String context, HttpHandler handler)
            throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(bindHost, port), 16);
        ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, threadName);
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        server.createContext(context, handler);
        server.start();
        return new HaHttpServer(server, executor);
    }

    int port() {
        return server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
