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
 * Writes golden-batches.ts: RecordBatch v2 bytes built by the Java client's own MemoryRecordsBuilder, together
 * with the inputs that produced them, so our encoder is checked against an independent implementation and
 * the inputs live in one place only.
 *
 * Regenerate (from this folder; kafka-clients and its dependencies in /tmp/kfetch/lib):
 *   javac -d /tmp/golden -cp '/tmp/kfetch/lib/*' GoldenBatches.java
 *   java -cp '/tmp/kfetch/lib/*:/tmp/golden' GoldenBatches > golden-batches.ts
 *
 * Uses MemoryRecords.builder / MemoryRecordsBuilder.append, which kafka-clients 4.3 keeps in
 * org.apache.kafka.common.record.internal (the package moved there from org.apache.kafka.common.record).
 */
public class GoldenBatches {
    static final long T0 = 1_700_000_000_000L;

    static final class Rec {
        final long timestamp;
        final byte[] key;
        final byte[] value;
        final Header[] headers;

        Rec(long timestamp, byte[] key, byte[] value, Header... headers) {
            this.timestamp = timestamp;
            this.key = key;
            this.value = value;
            this.headers = headers;
        }
    }

    static final class Case {
        final String name;
        final String compression;
        final long producerId;
        final short producerEpoch;
        final int baseSequence;
        final boolean transactional;
        final List<Rec> records = new ArrayList<>();

        Case(String name, String compression, long producerId, short producerEpoch, int baseSequence, boolean transactional) {
            this.name = name;
            this.compression = compression;
            this.producerId = producerId;
            this.producerEpoch = producerEpoch;
            this.baseSequence = baseSequence;
            this.transactional = transactional;
        }

        Case add(Rec r) {
            records.add(r);
            return this;
        }
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static byte[] pattern(int length, int seed) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) b[i] = (byte) (i * 31 + seed);
        return b;
    }

    static Case plain(String name) {
        return new Case(name, "none", RecordBatch.NO_PRODUCER_ID, RecordBatch.NO_PRODUCER_EPOCH, RecordBatch.NO_SEQUENCE, false);
    }

    static List<Case> cases() {
        List<Case> cases = new ArrayList<>();
        cases.add(plain("singleRecord").add(new Rec(T0, utf8("key-1"), utf8("value-1"))));
        cases.add(plain("nullKey").add(new Rec(T0, null, utf8("no key here"))));
        cases.add(plain("nullValue").add(new Rec(T0, utf8("tombstone"), null)));
        cases.add(plain("emptyKeyAndValue").add(new Rec(T0, new byte[0], new byte[0])).add(new Rec(T0, null, null)));
        cases.add(plain("headers").add(new Rec(T0, utf8("k"), utf8("v"),
            new RecordHeader("trace", utf8("a")),
            new RecordHeader("trace", utf8("b")),
            new RecordHeader("bin", new byte[] {0, (byte) 0xff, (byte) 0x80, 0x7f, 1}),
            new RecordHeader("nothing", (byte[]) null),
            new RecordHeader("ключ-✓", utf8("значение")),
            new RecordHeader("", new byte[0]))));
        cases.add(plain("negativeTimestampDelta")
            .add(new Rec(T0 + 1_000, utf8("a"), utf8("first")))
            .add(new Rec(T0, utf8("b"), utf8("second, one second earlier")))
            .add(new Rec(T0 + 2_000, utf8("c"), utf8("third"))));
        cases.add(plain("largeValue").add(new Rec(T0, pattern(200, 3), pattern(300, 7),
            new RecordHeader("h", pattern(130, 11)))));
        Case wide = plain("manyRecordsWideDeltas");
        // 130 records push offsetDelta past 63 (two-byte zigzag varint); 40e6 ms steps push timestampDelta past
        // 2^32, and the odd records go backwards past -2^31, so the varlong path beyond 32 bits is covered too.
        for (int i = 0; i < 130; i++) {
            long ts = i % 2 == 0 ? T0 + i * 40_000_000L : T0 - i * 20_000_000L;
            wide.add(new Rec(ts, i % 3 == 0 ? null : utf8("k" + i), utf8("v" + i)));
        }
        cases.add(wide);
        cases.add(new Case("idempotent", "none", 123_456_789_012L, (short) 7, 42, false)
            .add(new Rec(T0, utf8("a"), utf8("1")))
            .add(new Rec(T0 + 5, utf8("b"), utf8("2")))
            .add(new Rec(T0 + 3, utf8("c"), utf8("3"))));
        cases.add(new Case("transactional", "none", 9_007_199_254_740_993L, (short) 32_767, 2_147_483_000, true)
            .add(new Rec(T0, utf8("tx"), utf8("in a transaction")))
            .add(new Rec(T0 + 1, utf8("tx"), utf8("still in it"))));
        cases.add(new Case("gzip", "gzip", 5L, (short) 0, 0, false)
            .add(new Rec(T0, utf8("z"), utf8("compressible compressible compressible")))
            .add(new Rec(T0 + 1, null, utf8("compressible compressible compressible"), new RecordHeader("h", utf8("x")))));
        return cases;
    }

    static ByteBuffer build(Case c) {
        Compression compression = c.compression.equals("gzip") ? Compression.gzip().build() : Compression.NONE;
        ByteBuffer buffer = ByteBuffer.allocate(1 << 16);
        MemoryRecordsBuilder builder = MemoryRecords.builder(buffer, RecordBatch.MAGIC_VALUE_V2, compression,
            TimestampType.CREATE_TIME, 0L, RecordBatch.NO_TIMESTAMP, c.producerId, c.producerEpoch, c.baseSequence,
            c.transactional, RecordBatch.NO_PARTITION_LEADER_EPOCH);
        for (Rec r : c.records) builder.append(r.timestamp, r.key, r.value, r.headers);
        return builder.build().buffer();
    }

    static String hex(byte[] b) {
        if (b == null) return "null";
        StringBuilder sb = new StringBuilder("'");
        for (byte x : b) sb.append(String.format("%02x", x & 0xff));
        return sb.append("'").toString();
    }

    static String hex(ByteBuffer buf) {
        byte[] b = new byte[buf.remaining()];
        buf.duplicate().get(b);
        return hex(b);
    }

    static String tsString(String s) {
        StringBuilder sb = new StringBuilder("'");
        for (char ch : s.toCharArray()) {
            if (ch < 0x20 || ch > 0x7e || ch == '\'' || ch == '\\') sb.append(String.format("\\u%04x", (int) ch));
            else sb.append(ch);
        }
        return sb.append("'").toString();
    }

    public static void main(String[] args) {
        StringBuilder out = new StringBuilder();
        out.append("// Generated by GoldenBatches.java with org.apache.kafka:kafka-clients:4.3.1 (MemoryRecordsBuilder); do not edit.\n");
        out.append("// Regenerate: see the comment at the top of GoldenBatches.java.\n\n");
        out.append("export interface GoldenRecord {\n  timestamp: number;\n  key: string | null;\n  value: string | null;\n");
        out.append("  headers: Array<{ key: string; value: string | null }>;\n}\n\n");
        out.append("/** Keys, values and header values are hex; `batch` is the whole RecordBatch as Java wrote it. */\n");
        out.append("export interface GoldenBatch {\n  name: string;\n  compression: 'none' | 'gzip';\n  producerId: string;\n");
        out.append("  producerEpoch: number;\n  baseSequence: number;\n  isTransactional: boolean;\n  records: GoldenRecord[];\n  batch: string;\n}\n\n");
        out.append("export const GOLDEN_BATCHES: readonly GoldenBatch[] = [\n");
        for (Case c : cases()) {
            out.append("  {\n");
            out.append("    name: '").append(c.name).append("',\n");
            out.append("    compression: '").append(c.compression).append("',\n");
            out.append("    producerId: '").append(c.producerId).append("',\n");
            out.append("    producerEpoch: ").append(c.producerEpoch).append(",\n");
            out.append("    baseSequence: ").append(c.baseSequence).append(",\n");
            out.append("    isTransactional: ").append(c.transactional).append(",\n");
            out.append("    records: [\n");
            for (Rec r : c.records) {
                out.append("      { timestamp: ").append(r.timestamp).append(", key: ").append(hex(r.key));
                out.append(", value: ").append(hex(r.value)).append(", headers: [");
                for (int i = 0; i < r.headers.length; i++) {
                    if (i > 0) out.append(", ");
                    out.append("{ key: ").append(tsString(r.headers[i].key())).append(", value: ").append(hex(r.headers[i].value())).append(" }");
                }
                out.append("] },\n");
            }
            out.append("    ],\n");
            // 48 bytes a line keeps the fixture readable in a diff.
            String batch = hex(build(c));
            batch = batch.substring(1, batch.length() - 1);
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
