package io.flinkfleet.ha.core;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.CRC32;

/**
 * One HA metadata file: the writer's epoch, a per-entry version, a delete marker and an opaque
 * payload, framed so that a torn or altered file is always detected.
 *
 * <pre>
 * offset size
 *  0      4   magic "FFHA"
 *  4      1   format version (1)
 *  5      8   epoch of the writer
 * 13      4   entry version (starts at 1, +1 per replace)
 * 17      1   flags (bit 0: marked for deletion)
 * 18      4   payload length n
 * 22      n   payload
 * 22+n    4   CRC32 of bytes [0, 22+n)
 * </pre>
 */
public final class HaRecord {
    static final byte[] MAGIC = "FFHA".getBytes(StandardCharsets.US_ASCII);
    static final byte FORMAT_VERSION = 1;
    static final int HEADER = 22;
    static final int TRAILER = 4;
    private static final byte FLAG_DELETED = 1;

    private final long epoch;
    private final int version;
    private final boolean markedForDeletion;
    private final byte[] payload;

    public HaRecord(long epoch, int version, boolean markedForDeletion, byte[] payload) {
        this.epoch = epoch;
        this.version = version;
        this.markedForDeletion = markedForDeletion;
        this.payload = payload.clone();
    }

    public long epoch() {
        return epoch;
    }

    public int version() {
        return version;
    }

    public boolean markedForDeletion() {
        return markedForDeletion;
    }

    public byte[] payload() {
        return payload.clone();
    }

    public byte[] encode() {
        ByteBuffer buf = ByteBuffer.allocate(HEADER + payload.length + TRAILER);
        buf.put(MAGIC).put(FORMAT_VERSION).putLong(epoch).putInt(version)
                .put(markedForDeletion ? FLAG_DELETED : 0).putInt(payload.length).put(payload);
        CRC32 crc = new CRC32();
        crc.update(buf.array(), 0, buf.position());
        buf.putInt((int) crc.getValue());
        return buf.array();
    }

    /**
     * Decodes a file's bytes.
     *
     * @param file only used to name the file in the error
     * @throws CorruptHaFileException if the bytes are not exactly one intact record
     */
    public static HaRecord decode(Path file, byte[] bytes) throws CorruptHaFileException {
        if (bytes.length < HEADER + TRAILER) {
            throw new CorruptHaFileException(file, "truncated: " + bytes.length + " bytes, header needs "
                    + (HEADER + TRAILER));
        }
        ByteBuffer buf = ByteBuffer.wrap(bytes);
        byte[] magic = new byte[4];
        buf.get(magic);
        if (!Arrays.equals(magic, MAGIC)) {
            throw new CorruptHaFileException(file, "bad magic (not a flinkfleet HA file)");
        }
        byte format = buf.get();
        if (format != FORMAT_VERSION) {
            throw new CorruptHaFileException(file, "unsupported format version " + format);
        }
        long epoch = buf.getLong();
        int version = buf.getInt();
        byte flags = buf.get();
        int len = buf.getInt();
        if (len < 0 || bytes.length != HEADER + len + TRAILER) {
            throw new CorruptHaFileException(file, "truncated or extended: payload length " + len
                    + " but file has " + bytes.length + " bytes");
        }
        byte[] payload = new byte[len];
        buf.get(payload);
        int stored = buf.getInt();
        CRC32 crc = new CRC32();
        crc.update(bytes, 0, HEADER + len);
        if ((int) crc.getValue() != stored) {
            throw new CorruptHaFileException(file, "checksum mismatch");
        }
        return new HaRecord(epoch, version, (flags & FLAG_DELETED) != 0, payload);
    }
}
