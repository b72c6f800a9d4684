package io.flinkfleet.ha.core;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Properties;
import java.util.UUID;

/** Payload of a leader file: who leads a component. Text, so operators can read it. */
public final class LeaderRecord {
    private final String address;
    private final UUID sessionId;

    public LeaderRecord(String address, UUID sessionId) {
        this.address = Objects.requireNonNull(address);
        this.sessionId = Objects.requireNonNull(sessionId);
    }

    public String address() {
        return address;
    }

    public UUID sessionId() {
        return sessionId;
    }

    public byte[] encode() {
        return ("address=" + address + "\nsession=" + sessionId + "\n").getBytes(StandardCharsets.UTF_8);
    }

    public static LeaderRecord decode(Path file, byte[] payload) throws CorruptHaFileException {
        Properties p = new Properties();
        try {
            p.load(new StringReader(new String(payload, StandardCharsets.UTF_8)));
            return new LeaderRecord(
                    Objects.requireNonNull(p.getProperty("address"), "address"),
                    UUID.fromString(Objects.requireNonNull(p.getProperty("session"), "session")));
        } catch (IOException | RuntimeException e) {
            throw new CorruptHaFileException(file, "bad leader record: " + e.getMessage());
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LeaderRecord
                && ((LeaderRecord) o).address.equals(address)
                && ((LeaderRecord) o).sessionId.equals(sessionId);
    }

    @Override
    public int hashCode() {
        return Objects.hash(address, sessionId);
    }

    @Override
    public String toString() {
        return "LeaderRecord{" + address + ", " + sessionId + "}";
    }
}
