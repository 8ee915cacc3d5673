package kafkatesting;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Future;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Reference producer for the harness's own tests (libs/kafka-testing/src/reference-producer.ts): the
 * Java client writes records with exactly the bytes given, so the read-back verifier can be checked
 * against a producer that is not ours. ConsoleProducer cannot express null vs empty or binary headers.
 *
 * stdin, one record per line, tab-separated (base64 never contains tab, ':' or ','; '-' means null):
 *   partition|-1  timestamp|-1  key  value  headers
 * headers: comma-separated `keyB64:valueB64` (value '-' = null), or empty.
 * stdout, one line per record in input order: `partition offset timestamp`.
 *
 * Arguments: --bootstrap-server HOST:PORT --topic T [--acks all|1|0] [--producer-property k=v]...
 */
public final class RecordProduce {
    private RecordProduce() {}

    public static void main(String[] args) throws Exception {
        String bootstrap = null;
        String topic = null;
        Properties props = new Properties();
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--bootstrap-server": bootstrap = args[++i]; break;
                case "--topic": topic = args[++i]; break;
                case "--acks": props.put(ProducerConfig.ACKS_CONFIG, args[++i]); break;
                case "--producer-property": {
                    String kv = args[++i];
                    int eq = kv.indexOf('=');
                    props.put(kv.substring(0, eq), kv.substring(eq + 1));
                    break;
                }
                default: throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        if (bootstrap == null || topic == null) throw new IllegalArgumentException("--bootstrap-server and --topic are required");
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        props.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, "kafka-testing-reference-producer");

        List<Future<RecordMetadata>> results = new ArrayList<>();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props);
             BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII))) {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                if (line.isEmpty()) continue;
                String[] f = line.split("\t", -1);
                if (f.length != 5) throw new IllegalArgumentException("expected 5 tab-separated fields: " + line);
                Integer partition = f[0].equals("-1") ? null : Integer.valueOf(f[0]);
                Long timestamp = f[1].equals("-1") ? null : Long.valueOf(f[1]);
                RecordHeaders headers = new RecordHeaders();
                if (!f[4].isEmpty()) {
                    for (String h : f[4].split(",", -1)) {
                        int colon = h.indexOf(':');
                        String key = new String(decode(h.substring(0, colon)), StandardCharsets.UTF_8);
                        headers.add(key, decode(h.substring(colon + 1)));
                    }
                }
                results.add(producer.send(new ProducerRecord<>(topic, partition, timestamp, decode(f[2]), decode(f[3]), headers)));
            }
            producer.flush();
            StringBuilder out = new StringBuilder();
            for (Future<RecordMetadata> r : results) {
                RecordMetadata m = r.get();
                out.append(m.partition()).append(' ').append(m.offset()).append(' ').append(m.timestamp()).append('\n');
            }
            System.out.print(out);
            System.out.flush();
        }
    }

    private static byte[] decode(String s) {
        return s.equals("-") ? null : Base64.getDecoder().decode(s);
    }
}
