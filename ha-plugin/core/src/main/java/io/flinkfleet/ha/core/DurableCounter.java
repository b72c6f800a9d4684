package io.flinkfleet.ha.core;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Optional;

/**
 * A long counter persisted as one {@link HaRecord}; single writer (the epoch holder).
 * Used for checkpoint ids, which must survive a JobManager crash.
 */
public final class DurableCounter {
    private final FileRecordStore store;
    private final String name;
    private final long initial;

    public DurableCounter(FileRecordStore store, String name, long initial) {
        this.store = store;
        this.name = name;
        this.initial = initial;
    }

    /** Current value, or the initial value if never written. */
    public long get() throws IOException {
        Optional<HaRecord> r = store.read(name);
        if (r.isEmpty()) {
            return initial;
        }
        byte[] p = r.get().payload();
        if (p.length != Long.BYTES) {
            throw new CorruptHaFileException(store.pathOf(name), "counter payload has " + p.length + " bytes");
        }
        return ByteBuffer.wrap(p).getLong();
    }

    /** Durably sets the value (fenced). */
    public void set(long value) throws IOException {
        store.write(name, 1, false, ByteBuffer.allocate(Long.BYTES).putLong(value).array());
    }

    /** Returns the current value and durably stores value+1 before returning. */
    public long getAndIncrement() throws IOException {
        long current = get();
        set(current + 1);
        return current;
    }

    /** Removes the counter (only when its job reached a globally terminal state). */
    public void remove() throws IOException {
        store.delete(name);
    }
}
