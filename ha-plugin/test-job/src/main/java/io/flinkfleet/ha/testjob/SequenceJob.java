package io.flinkfleet.ha.testjob;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.serialization.SimpleStringEncoder;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.connector.file.sink.FileSink;
import org.apache.flink.core.fs.Path;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.filesystem.bucketassigners.BasePathBucketAssigner;
import org.apache.flink.streaming.api.functions.sink.filesystem.rollingpolicies.OnCheckpointRollingPolicy;
import org.apache.flink.util.Collector;

import java.util.HashMap;
import java.util.Map;

/**
 * Failover test job: a rate-limited sequence 0,1,2,... keyed by {@code seq % keys}; a keyed
 * counter numbers each key's records; lines {@code seq,key,count} go to a FileSink that commits
 * on checkpoints. After any number of JobManager crashes the committed output must contain
 * every sequence number of a prefix exactly once, and each key's counts must be 1..n in
 * sequence order — which only holds if source position and keyed state were both restored.
 *
 * <p>Arguments: --output DIR [--count N] [--rate R] [--checkpoint-interval-ms MS]
 * [--snapshot-delay-ms MS] [--keys K]. The snapshot delay widens the checkpointing window so
 * tests can kill the JobManager while a checkpoint is in flight.
 */
public final class SequenceJob {
    public static void main(String[] args) throws Exception {
        Map<String, String> a = parse(args);
        String output = required(a, "output");
        long count = Long.parseLong(a.getOrDefault("count", "100000000"));
        double rate = Double.parseDouble(a.getOrDefault("rate", "200"));
        long interval = Long.parseLong(a.getOrDefault("checkpoint-interval-ms", "2000"));
        long snapshotDelay = Long.parseLong(a.getOrDefault("snapshot-delay-ms", "0"));
        int keys = Integer.parseInt(a.getOrDefault("keys", "4"));

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.enableCheckpointing(interval);
        env.setParallelism(1);

        DataGeneratorSource<Long> source =
                new DataGeneratorSource<>(seq -> seq, count, RateLimiterStrategy.perSecond(rate), Types.LONG);
        FileSink<String> sink = FileSink.forRowFormat(new Path(output), new SimpleStringEncoder<String>())
                .withBucketAssigner(new BasePathBucketAssigner<>())
                .withRollingPolicy(OnCheckpointRollingPolicy.build())
                .build();

        env.fromSource(source, WatermarkStrategy.noWatermarks(), "sequence")
                .uid("sequence")
                .map(new SlowSnapshot(snapshotDelay))
                .uid("slow-snapshot")
                .keyBy(seq -> seq % keys)
                .process(new CountPerKey())
                .uid("count-per-key")
                .sinkTo(sink)
                .uid("file-sink");
        env.execute("flinkfleet-ha-sequence");
    }

    /** Keyed state: how many records this key has seen, emitted with each record. */
    static final class CountPerKey extends KeyedProcessFunction<Long, Long, String> {
        private transient ValueState<Long> seen;

        @Override
        public void open(OpenContext openContext) {
            seen = getRuntimeContext().getState(new ValueStateDescriptor<>("seen", Types.LONG));
        }

        @Override
        public void processElement(Long seq, Context ctx, Collector<String> out) throws Exception {
            Long n = seen.value();
            long next = n == null ? 1 : n + 1;
            seen.update(next);
            out.collect(seq + "," + ctx.getCurrentKey() + "," + next);
        }
    }

    /** Pass-through whose snapshot takes a while, so checkpoints are in flight long enough. */
    static final class SlowSnapshot extends RichMapFunction<Long, Long> implements CheckpointedFunction {
        private final long delayMs;

        SlowSnapshot(long delayMs) {
            this.delayMs = delayMs;
        }

        @Override
        public Long map(Long value) {
            return value;
        }

        @Override
        public void snapshotState(FunctionSnapshotContext context) throws Exception {
            if (delayMs > 0) {
                Thread.sleep(delayMs);
            }
        }

        @Override
        public void initializeState(FunctionInitializationContext context) {}
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("Expected --key value pairs, got " + String.join(" ", args));
            }
            m.put(args[i].substring(2), args[++i]);
        }
        return m;
    }

    private static String required(Map<String, String> a, String key) {
        String v = a.get(key);
        if (v == null) {
            throw new IllegalArgumentException("Missing --" + key);
        }
        return v;
    }
}
