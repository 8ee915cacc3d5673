package kafkatesting;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Independent read-back oracle for the TypeScript producer's tests (libs/kafka-testing/src/verifier.ts).
 *
 * Why not ConsoleConsumer: its DefaultMessageFormatter replaces a null key/value by the `null.literal`
 * bytes *before* the deserializer runs, so a null and a value equal to the literal print the same,
 * and header keys are printed raw next to configurable separators. This class uses only the public
 * consumer API (assign + seek, no group, so no rebalance plays a part) and prints one JSON object per
 * record with every byte field in base64, which is exact for arbitrary bytes.
 *
 * Output: one line per record
 *   {"type":"record","topic":..,"partition":..,"offset":"..","timestamp":..,"timestampType":"CreateTime",
 *    "leaderEpoch":..|null,"key":b64|null,"value":b64|null,"headers":[[key,b64|null],..]}
 * then one trailer line {"type":"end","reason":"max-messages|end-offsets|timeout","count":..,"endOffsets":{..}}.
 *
 * Arguments: --bootstrap-server HOST:PORT --topic T [--partition P]... [--from-beginning | --from-end]
 *            [--max-messages N] [--timeout-ms MS] [--isolation-level read_committed|read_uncommitted]
 * Without --max-messages it reads up to the end offsets observed once all partitions are assigned.
 */
public final class RecordDump {
    private RecordDump() {}

    public static void main(String[] args) throws Exception {
        String bootstrap = null;
        String topic = null;
        List<Integer> partitions = new ArrayList<>();
        boolean fromBeginning = true;
        long maxMessages = -1;
        long timeoutMs = 30000;
        String isolation = "read_uncommitted";
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--bootstrap-server": bootstrap = args[++i]; break;
                case "--topic": topic = args[++i]; break;
                case "--partition": partitions.add(Integer.parseInt(args[++i])); break;
                case "--from-beginning": fromBeginning = true; break;
                case "--from-end": fromBeginning = false; break;
                case "--max-messages": maxMessages = Long.parseLong(args[++i]); break;
                case "--timeout-ms": timeoutMs = Long.parseLong(args[++i]); break;
                case "--isolation-level": isolation = args[++i]; break;
                default: throw new IllegalArgumentException("unknown argument " + a);
            }
        }
        if (bootstrap == null || topic == null) throw new IllegalArgumentException("--bootstrap-server and --topic are required");

        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
        props.put(ConsumerConfig.CLIENT_ID_CONFIG, "kafka-testing-record-dump");
        props.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, "false");

        long deadline = System.currentTimeMillis() + timeoutMs;
        StringBuilder out = new StringBuilder(4096);
        long count = 0;
        String reason = "timeout";
        Map<TopicPartition, Long> end = new HashMap<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
            List<TopicPartition> tps = new ArrayList<>();
            // The topic may have been created a moment ago; wait for it to show up in metadata.
            while (tps.isEmpty()) {
                if (partitions.isEmpty()) {
                    try {
                        List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofMillis(Math.max(1, Math.min(2000, deadline - System.currentTimeMillis()))));
                        if (infos != null) for (PartitionInfo p : infos) tps.add(new TopicPartition(topic, p.partition()));
                    } catch (org.apache.kafka.common.errors.TimeoutException slow) {
                        // A loaded machine can take longer than one 2 s attempt for the first metadata answer;
                        // only the overall deadline decides.
                        if (System.currentTimeMillis() >= deadline) throw slow;
                    }
                } else {
                    for (int p : partitions) tps.add(new TopicPartition(topic, p));
                }
                if (tps.isEmpty()) {
                    if (System.currentTimeMillis() >= deadline) break;
                    Thread.sleep(100);
                }
            }
            if (!tps.isEmpty()) {
                tps.sort((x, y) -> Integer.compare(x.partition(), y.partition()));
                consumer.assign(tps);
                if (fromBeginning) consumer.seekToBeginning(tps); else consumer.seekToEnd(tps);
                end.putAll(consumer.endOffsets(tps, Duration.ofMillis(Math.max(1, deadline - System.currentTimeMillis()))));
                for (TopicPartition tp : tps) consumer.position(tp);

                while (true) {
                    if (maxMessages >= 0 && count >= maxMessages) { reason = "max-messages"; break; }
                    if (maxMessages < 0 && reachedEnd(consumer, tps, end)) { reason = "end-offsets"; break; }
                    long left = deadline - System.currentTimeMillis();
                    if (left <= 0) break;
                    ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(Math.min(left, 200)));
                    for (ConsumerRecord<byte[], byte[]> r : records) {
                        if (maxMessages >= 0 && count >= maxMessages) break;
                        appendRecord(out, r);
                        count++;
                    }
                    flush(out);
                }
            }
        }
        out.append("{\"type\":\"end\",\"reason\":\"").append(reason).append("\",\"count\":").append(count).append(",\"endOffsets\":{");
        boolean first = true;
        for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
            if (!first) out.append(',');
            first = false;
            out.append('"').append(e.getKey().partition()).append("\":\"").append(e.getValue()).append('"');
        }
        out.append("}}\n");
        flush(out);
        System.out.flush();
    }

    private static boolean reachedEnd(KafkaConsumer<byte[], byte[]> consumer, List<TopicPartition> tps, Map<TopicPartition, Long> end) {
        for (TopicPartition tp : tps) {
            Long e = end.get(tp);
            if (e != null && consumer.position(tp) < e) return false;
        }
        return true;
    }

    private static void flush(StringBuilder out) {
        if (out.length() == 0) return;
        byte[] bytes = out.toString().getBytes(StandardCharsets.UTF_8);
        System.out.write(bytes, 0, bytes.length);
        out.setLength(0);
    }

    private static void appendRecord(StringBuilder out, ConsumerRecord<byte[], byte[]> r) {
        out.append("{\"type\":\"record\",\"topic\":");
        appendJsonString(out, r.topic());
        out.append(",\"partition\":").append(r.partition());
        out.append(",\"offset\":\"").append(r.offset()).append('"');
        out.append(",\"timestamp\":").append(r.timestamp());
        out.append(",\"timestampType\":\"").append(r.timestampType().name).append('"');
        out.append(",\"leaderEpoch\":").append(r.leaderEpoch().map(String::valueOf).orElse("null"));
        out.append(",\"key\":");
        appendB64(out, r.key());
        out.append(",\"value\":");
        appendB64(out, r.value());
        out.append(",\"headers\":[");
        boolean first = true;
        for (Header h : r.headers()) {
            if (!first) out.append(',');
            first = false;
            out.append('[');
            appendJsonString(out, h.key());
            out.append(',');
            appendB64(out, h.value());
            out.append(']');
        }
        out.append("]}\n");
    }

    private static void appendB64(StringBuilder out, byte[] bytes) {
        if (bytes == null) out.append("null");
        else out.append('"').append(Base64.getEncoder().encodeToString(bytes)).append('"');
    }

    /** Escapes every char outside printable ASCII as a UTF-16 code unit, so lone surrogates survive too. */
    private static void appendJsonString(StringBuilder out, String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') out.append('\\').append(c);
            else if (c >= 0x20 && c < 0x7f) out.append(c);
            else out.append(String.format("\\u%04x", (int) c));
        }
        out.append('"');
    }
}
