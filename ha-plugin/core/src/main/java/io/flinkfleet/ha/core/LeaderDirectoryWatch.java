package io.flinkfleet.ha.core;

import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;

/**
 * Calls {@code onChange} as soon as the kernel reports that a leader file was created, replaced
 * or deleted in the leaders directory (inotify on Linux), so that leader retrieval reacts to a
 * new leader in milliseconds instead of up to one poll interval. Only sees writes made through
 * the same kernel: the JobManager and TaskManagers that mount a ReadWriteOnce volume on one
 * node. Writes from other nodes (NFS) raise no event; the retrieval poll still finds them.
 */
public final class LeaderDirectoryWatch implements AutoCloseable {
    private final WatchService watcher;
    private final Thread thread;

    private LeaderDirectoryWatch(WatchService watcher, String fileName, Runnable onChange) {
        this.watcher = watcher;
        this.thread = new Thread(() -> deliver(fileName, onChange), "pvc-ha-leader-watch-" + fileName);
        thread.setDaemon(true);
    }

    /**
     * Watches {@code dir} for changes of {@code fileName}.
     *
     * @throws IOException if the directory does not exist (yet) or cannot be watched
     */
    public static LeaderDirectoryWatch start(Path dir, String fileName, Runnable onChange) throws IOException {
        WatchService watcher = dir.getFileSystem().newWatchService();
        try {
            // Writes commit by rename into the directory: that is a create (moved_to) of the name.
            dir.register(watcher, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY,
                    StandardWatchEventKinds.ENTRY_DELETE);
        } catch (IOException | RuntimeException e) {
            watcher.close();
            throw e;
        }
        LeaderDirectoryWatch watch = new LeaderDirectoryWatch(watcher, fileName, onChange);
        watch.thread.start();
        return watch;
    }

    private void deliver(String fileName, Runnable onChange) {
        try {
            while (true) {
                WatchKey key = watcher.take();
                boolean relevant = false;
                for (WatchEvent<?> event : key.pollEvents()) {
                    // An overflow lost events, ours among them perhaps: read again to be sure.
                    relevant |= event.kind() == StandardWatchEventKinds.OVERFLOW
                            || fileName.equals(String.valueOf(event.context()));
                }
                if (relevant) {
                    onChange.run();
                }
                if (!key.reset()) {
                    return; // the directory is gone; the retrieval poll carries on alone
                }
            }
        } catch (InterruptedException | ClosedWatchServiceException e) {
            // closed
        }
    }

    @Override
    public void close() {
        try {
            watcher.close();
        } catch (IOException ignored) {
            // nothing to release beyond the inotify descriptor, which close() frees regardless
        }
        thread.interrupt();
    }
}
