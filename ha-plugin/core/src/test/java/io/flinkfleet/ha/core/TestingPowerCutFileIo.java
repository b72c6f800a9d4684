package io.flinkfleet.ha.core;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A {@link FileIo} that models what survives a power loss on a POSIX file system, and can
 * {@link #powerCut() cut the power}.
 *
 * <p>Files are inodes ({@link Node}); a file's <em>durable content</em> is what it held at its
 * last {@link #force}, and a directory's <em>durable entries</em> are the names it held at its
 * last {@link #fsyncDir}. Everything else (data written but not forced, a rename, create or
 * unlink in a directory not fsynced since) is dropped by {@link #powerCut()}: the real directory
 * tree under the root is rebuilt from the durable model. A file whose durable entry exists but
 * whose data was never forced comes back empty (as on ext4 after a crash with delayed
 * allocation). Everything under the root when the double is created counts as durable.
 *
 * <p>Operations are applied to the real file system too, so code under test reads with plain
 * {@code java.nio}. Files created behind the double's back (e.g. by Flink's own file system
 * classes) are picked up when forced, renamed or listed by a directory fsync.
 */
public final class TestingPowerCutFileIo implements FileIo {
    private final Path root;
    private final Object mon = new Object();
    // @GuardedBy("mon")
    private final Map<Path, Node> visible = new HashMap<>();
    // @GuardedBy("mon")
    private final Map<Path, Map<String, Node>> durableEntries = new HashMap<>();
    // @GuardedBy("mon")
    private int powerCuts;

    /** One inode. */
    private static final class Node {
        final boolean directory;
        byte[] durableContent; // null: never forced

        Node(boolean directory) {
            this.directory = directory;
        }
    }

    public TestingPowerCutFileIo(Path root) throws IOException {
        this.root = root.toAbsolutePath().normalize();
        Files.createDirectories(this.root);
        synchronized (mon) {
            snapshotAsDurable();
        }
    }

    public Path root() {
        return root;
    }

    public int powerCuts() {
        synchronized (mon) {
            return powerCuts;
        }
    }

    private boolean inside(Path p) {
        return p.toAbsolutePath().normalize().startsWith(root);
    }

    private static Path norm(Path p) {
        return p.toAbsolutePath().normalize();
    }

    private Node nodeOf(Path p) {
        return visible.computeIfAbsent(norm(p), k -> new Node(Files.isDirectory(k, LinkOption.NOFOLLOW_LINKS)));
    }

    @Override
    public void createAndWrite(Path file, byte[] data) throws IOException {
        synchronized (mon) {
            NioFileIo.INSTANCE.createAndWrite(file, data);
            visible.put(norm(file), new Node(false));
        }
    }

    @Override
    public void force(Path file) throws IOException {
        synchronized (mon) {
            NioFileIo.INSTANCE.force(file);
            if (inside(file)) {
                nodeOf(file).durableContent = Files.readAllBytes(file);
            }
        }
    }

    @Override
    public void fsyncDir(Path dir) throws IOException {
        synchronized (mon) {
            NioFileIo.INSTANCE.fsyncDir(dir);
            Path d = norm(dir);
            if (!inside(d)) {
                return;
            }
            Map<String, Node> entries = new HashMap<>();
            try (DirectoryStream<Path> s = Files.newDirectoryStream(d)) {
                for (Path child : s) {
                    entries.put(child.getFileName().toString(), nodeOf(child));
                }
            }
            durableEntries.put(d, entries);
        }
    }

    @Override
    public void rename(Path from, Path to) throws IOException {
        synchronized (mon) {
            Node moved = nodeOf(from);
            NioFileIo.INSTANCE.rename(from, to);
            Path f = norm(from);
            Path t = norm(to);
            visible.remove(f);
            visible.put(t, moved);
            if (moved.directory) {
                // Children keep their inodes under the new path.
                for (Map.Entry<Path, Node> e : new ArrayList<>(visible.entrySet())) {
                    if (e.getKey().startsWith(f) && !e.getKey().equals(f)) {
                        visible.remove(e.getKey());
                        visible.put(t.resolve(f.relativize(e.getKey())), e.getValue());
                    }
                }
                Map<Path, Map<String, Node>> moves = new HashMap<>();
                for (Map.Entry<Path, Map<String, Node>> e : durableEntries.entrySet()) {
                    if (e.getKey().startsWith(f)) {
                        moves.put(t.resolve(f.relativize(e.getKey())), e.getValue());
                    }
                }
                durableEntries.keySet().removeIf(k -> k.startsWith(f));
                durableEntries.putAll(moves);
            }
        }
    }

    @Override
    public boolean delete(Path path) throws IOException {
        synchronized (mon) {
            boolean deleted = NioFileIo.INSTANCE.delete(path);
            visible.remove(norm(path));
            return deleted;
        }
    }

    @Override
    public void createDirectory(Path dir) throws IOException {
        synchronized (mon) {
            NioFileIo.INSTANCE.createDirectory(dir);
            visible.put(norm(dir), new Node(true));
        }
    }

    /**
     * Power loss: the tree under the root becomes exactly what was durable. Afterwards
     * everything on disk counts as durable again (the next boot's state).
     */
    public void powerCut() throws IOException {
        synchronized (mon) {
            Map<Path, byte[]> files = new HashMap<>();
            List<Path> dirs = new ArrayList<>();
            collectDurable(root, files, dirs);
            wipe(root);
            for (Path d : dirs) {
                Files.createDirectories(d);
            }
            for (Map.Entry<Path, byte[]> f : files.entrySet()) {
                Files.write(f.getKey(), f.getValue());
            }
            powerCuts++;
            snapshotAsDurable();
        }
    }

    private void collectDurable(Path dir, Map<Path, byte[]> files, List<Path> dirs) {
        Map<String, Node> entries = durableEntries.getOrDefault(dir, Map.of());
        for (Map.Entry<String, Node> e : entries.entrySet()) {
            Path p = dir.resolve(e.getKey());
            if (e.getValue().directory) {
                dirs.add(p);
                collectDurable(p, files, dirs);
            } else {
                byte[] c = e.getValue().durableContent;
                files.put(p, c == null ? new byte[0] : c);
            }
        }
    }

    private void wipe(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    wipe(p);
                }
                Files.delete(p);
            }
        }
    }

    private void snapshotAsDurable() throws IOException {
        visible.clear();
        durableEntries.clear();
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : (Iterable<Path>) all::iterator) {
                Path n = norm(p);
                Node node = new Node(Files.isDirectory(n, LinkOption.NOFOLLOW_LINKS));
                if (!node.directory) {
                    node.durableContent = Files.readAllBytes(n);
                }
                visible.put(n, node);
            }
        }
        for (Map.Entry<Path, Node> e : visible.entrySet()) {
            if (e.getValue().directory) {
                durableEntries.putIfAbsent(e.getKey(), new HashMap<>());
            }
            Path parent = e.getKey().getParent();
            if (!e.getKey().equals(root) && parent != null) {
                durableEntries.computeIfAbsent(parent, k -> new HashMap<>()).put(e.getKey().getFileName().toString(), e.getValue());
            }
        }
    }
}
