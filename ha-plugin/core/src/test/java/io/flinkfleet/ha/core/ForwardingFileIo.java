package io.flinkfleet.ha.core;

import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Supplier;

/**
 * A {@link FileIo} that hands every call to a delegate; tests override the one operation they
 * fail or observe. The delegate is looked up at each call, so a fixture can swap it mid-test.
 */
public class ForwardingFileIo implements FileIo {
    private final Supplier<FileIo> delegate;

    public ForwardingFileIo(FileIo delegate) {
        this(() -> delegate);
    }

    public ForwardingFileIo(Supplier<FileIo> delegate) {
        this.delegate = delegate;
    }

    @Override
    public void createAndWrite(Path file, byte[] data) throws IOException {
        delegate.get().createAndWrite(file, data);
    }

    @Override
    public void force(Path file) throws IOException {
        delegate.get().force(file);
    }

    @Override
    public void fsyncDir(Path dir) throws IOException {
        delegate.get().fsyncDir(dir);
    }

    @Override
    public void rename(Path from, Path to) throws IOException {
        delegate.get().rename(from, to);
    }

    @Override
    public boolean delete(Path path) throws IOException {
        return delegate.get().delete(path);
    }

    @Override
    public void createDirectory(Path dir) throws IOException {
        delegate.get().createDirectory(dir);
    }
}
