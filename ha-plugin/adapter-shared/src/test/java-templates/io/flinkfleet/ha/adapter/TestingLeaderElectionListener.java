package io.flinkfleet.ha.${flinkfleet.adapter.package};

import org.apache.flink.runtime.leaderelection.LeaderElectionDriver;
import org.apache.flink.runtime.leaderelection.LeaderInformation;
import org.apache.flink.runtime.leaderelection.LeaderInformationRegister;

import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** Queues driver events so tests can await them in order. */
final class TestingLeaderElectionListener implements LeaderElectionDriver.Listener {
    final BlockingQueue<Object> events = new LinkedBlockingQueue<>();

    record Granted(java.util.UUID session) {}

    record Revoked() {}

    record Error(Throwable error) {}

    @Override
    public void onGrantLeadership(java.util.UUID leaderSessionID) {
        events.add(new Granted(leaderSessionID));
    }

    @Override
    public void onRevokeLeadership() {
        events.add(new Revoked());
    }

    @Override
    public void onLeaderInformationChange(String componentId, LeaderInformation leaderInformation) {}

    @Override
    public void onLeaderInformationChange(LeaderInformationRegister leaderInformationRegister) {}

    @Override
    public void onError(Throwable t) {
        events.add(new Error(t));
    }

    <T> T next(Class<T> type, Duration timeout) throws InterruptedException {
        Object e = events.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (e == null) {
            throw new AssertionError("no event within " + timeout + ", expected " + type.getSimpleName());
        }
        if (!type.isInstance(e)) {
            throw new AssertionError("expected " + type.getSimpleName() + " but got " + e);
        }
        return type.cast(e);
    }

    /** Events not consumed yet (does not wait). */
    java.util.List<Object> pending() {
        return new java.util.ArrayList<>(events);
    }
}
