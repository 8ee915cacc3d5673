import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.MemoryRecordsBuilder;
import org.apache.kafka.common.record.internal.RecordBatch;

/**
 * Writes golden-compressed-batches.ts: compressed RecordBatch v2 bytes built by the Java client's own
 * MemoryRecordsBuilder (and so its own gzip / xerial snappy / KafkaLZ4 / zstd-jni streams), one or more per
 * codec and level, so our decoder and decompressors are checked against what a Java producer sends.
 *
 * The records are not listed in the fixture: they follow from (seed, count) by the same formula as
 * `goldenRecord` in compression-test-helpers.ts, which the test uses to rebuild them.
 *
 * Regenerate (from this folder; kafka-clients and its dependencies in /work/main/.kafka/4.3.1/lib):
 *   javac -d /tmp/golden-compressed -cp '/work/main/.kafka/4.3.1/lib/*' GoldenCompressedBatches.java
 *   java -cp '/work/main/.kafka/4.3.1/lib/*:/tmp/golden-compressed' GoldenCompressedBatches > golden-compressed-batches.ts
 */
public class GoldenCompressedBatches {
    static final long T0 = 1_700_000_000_000L;
    static final String[] EVENTS = {"click", "view", "purchase"};

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    // Keep in step with goldenRecord() in compression-test-helpers.ts.
    static long timestamp(int i) {
        return T0 + i * 3L;
    }

    static byte[] key(int seed, int i) {
        return i % 7 == 0 ? null : utf8("key-" + seed + "-" + i);
    }

    static byte[] value(int seed, int i) {
        StringBuilder sb = new StringBuilder();
        sb.append("{\"id\":").append(i).append(",\"user\":\"user-").append((i * 7919) % 1009)
            .append("\",\"event\":\"").append(EVENTS[i % 3]).append("\",\"text\":\"");
        for (int k = 0; k < i % 9; k++) sb.append("lorem ipsum ");
        sb.append("\"}");
        byte[] text = utf8(sb.toString());
        int noise = i % 5 == 0 ? i % 40 : 0;
        byte[] out = new byte[text.length + noise];
        System.arraycopy(text, 0, out, 0, text.length);
        for (int k = 0; k < noise; k++) out[text.length + k] = (byte) (i * 131 + k * k * 17 + k * seed);
        return out;
    }

    static Header[] headers(int seed, int i) {
        if (i % 10 == 3) return new Header[] {new RecordHeader("a", (byte[]) null), new RecordHeader("b", utf8("bee-" + seed))};
        if (i % 4 == 0) return new Header[] {new RecordHeader("trace", utf8("t" + i))};
        return new Header[0];
    }

    static final class Case {
        final String name;
        final String codec;
        final Integer level;
        final int seed;
        final int count;
        final long producerId;
        final short producerEpoch;
        final int baseSequence;
        final boolean transactional;

        Case(String name, String codec, Integer level, int seed, int count) {
            this(name, codec, level, seed, count, RecordBatch.NO_PRODUCER_ID, RecordBatch.NO_PRODUCER_EPOCH, RecordBatch.NO_SEQUENCE, false);
        }

        Case(String name, String codec, Integer level, int seed, int count, long producerId, short producerEpoch, int baseSequence, boolean transactional) {
            this.name = name;
            this.codec = codec;
            this.level = level;
            this.seed = seed;
            this.count = count;
            this.producerId = producerId;
            this.producerEpoch = producerEpoch;
            this.baseSequence = baseSequence;
            this.transactional = transactional;
        }
    }

    static List<Case> cases() {
        List<Case> cases = new ArrayList<>();
        for (String codec : new String[] {"gzip", "snappy", "lz4", "zstd"}) {
            cases.add(new Case(codec + "-small", codec, null, 1, 3));
            // ~80 KB of records: several snappy blocks (32 KiB) and lz4 blocks (64 KiB), records across the edges.
            cases.add(new Case(codec + "-multiBlock", codec, null, 2, 500));
        }
        cases.add(new Case("gzip-level1", "gzip", 1, 3, 40));
        cases.add(new Case("gzip-level9", "gzip", 9, 4, 40));
        cases.add(new Case("lz4-level1", "lz4", 1, 5, 40));
        cases.add(new Case("lz4-level17-multiBlock", "lz4", 17, 6, 500));
        cases.add(new Case("zstd-level-5", "zstd", -5, 7, 40));
        cases.add(new Case("zstd-level19", "zstd", 19, 8, 40));
        cases.add(new Case("zstd-idempotent-transactional", "zstd", null, 9, 5, 123_456_789_012L, (short) 7, 42, true));
        return cases;
    }

    static Compression compression(String codec, Integer level) {
        switch (codec) {
            case "gzip": return level == null ? Compression.gzip().build() : Compression.gzip().level(level).build();
            case "snappy": return Compression.snappy().build();
            case "lz4": return level == null ? Compression.lz4().build() : Compression.lz4().level(level).build();
            case "zstd": return level == null ? Compression.zstd().build() : Compression.zstd().level(level).build();
            default: throw new IllegalArgumentException(codec);
        }
    }

    static ByteBuffer build(Case c) {
        ByteBuffer buffer = ByteBuffer.allocate(1 << 20);
        MemoryRecordsBuilder builder = MemoryRecords.builder(buffer, RecordBatch.MAGIC_VALUE_V2, compression(c.codec, c.level),
            TimestampType.CREATE_TIME, 0L, RecordBatch.NO_TIMESTAMP, c.producerId, c.producerEpoch, c.baseSequence,
            c.transactional, RecordBatch.NO_PARTITION_LEADER_EPOCH);
        for (int i = 0; i < c.count; i++) builder.append(timestamp(i), key(c.seed, i), value(c.seed, i), headers(c.seed, i));
        return builder.build().buffer();
    }

    static String hex(ByteBuffer buf) {
        StringBuilder sb = new StringBuilder();
        ByteBuffer b = buf.duplicate();
        while (b.hasRemaining()) sb.append(String.format("%02x", b.get() & 0xff));
        return sb.toString();
    }

    public static void main(String[] args) {
        StringBuilder out = new StringBuilder();
        out.append("// Generated by GoldenCompressedBatches.java with org.apache.kafka:kafka-clients:4.3.1 (MemoryRecordsBuilder); do not edit.\n");
        out.append("// Regenerate: see the comment at the top of GoldenCompressedBatches.java.\n\n");
        out.append("/** A compressed batch as Java wrote it; its records are goldenRecord(seed, i) for i in 0..count-1. */\n");
        out.append("export interface GoldenCompressedBatch {\n  name: string;\n  codec: 'gzip' | 'snappy' | 'lz4' | 'zstd';\n");
        out.append("  /** null: the codec's default level. */\n  level: number | null;\n  seed: number;\n  count: number;\n");
        out.append("  producerId: string;\n  producerEpoch: number;\n  baseSequence: number;\n  isTransactional: boolean;\n  batch: string;\n}\n\n");
        out.append("export const GOLDEN_COMPRESSED_BATCHES: readonly GoldenCompressedBatch[] = [\n");
        for (Case c : cases()) {
            out.append("  {\n");
            out.append("    name: '").append(c.name).append("',\n");
            out.append("    codec: '").append(c.codec).append("',\n");
            out.append("    level: ").append(c.level == null ? "null" : c.level.toString()).append(",\n");
            out.append("    seed: ").append(c.seed).append(",\n");
            out.append("    count: ").append(c.count).append(",\n");
            out.append("    producerId: '").append(c.producerId).append("',\n");
            out.append("    producerEpoch: ").append(c.producerEpoch).append(",\n");
            out.append("    baseSequence: ").append(c.baseSequence).append(",\n");
            out.append("    isTransactional: ").append(c.transactional).append(",\n");
            String batch = hex(build(c));
            out.append("    batch:\n");
            for (int i = 0; i < batch.length(); i += 96) {
                out.append("      '").append(batch, i, Math.min(i + 96, batch.length())).append("'");
                out.append(i + 96 < batch.length() ? " +\n" : ",\n");
            }
            out.append("  },\n");
        }
        out.append("];\n");
        System.out.print(out);
    }
}
