package io.flinkfleet.ha.core;

import java.io.IOException;
import java.nio.file.Path;

/**
 * An HA metadata file exists but cannot be decoded (bad magic, truncated, checksum mismatch).
 *
 * <p>Never caught to fall back to empty state: the caller must fail loudly, because starting
 * from nothing would silently drop a running job's checkpoints. The message names the file so
 * an operator can inspect or move it away.
 */
public class CorruptHaFileException extends IOException {
    private static final long serialVersionUID = 1L;

    private final Path file;

    public CorruptHaFileException(Path file, String reason) {
        super("Corrupt or truncated HA metadata file " + file + ": " + reason
                + ". Refusing to continue from empty state; inspect or remove the file.");
        this.file = file;
    }

    public Path getFile() {
        return file;
    }
}
