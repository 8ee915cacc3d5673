package kafkatesting;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import org.apache.kafka.common.utils.Utils;

/**
 * The Java client's choice of partition for keyed records, for parity tests of our partitioner
 * (test/partitioner.e2e-spec.ts). Uses the client's own code: Utils.murmur2 for the hash and
 * BuiltInPartitioner.partitionForKey (toPositive(murmur2(key)) % numPartitions, what KafkaProducer
 * calls for a keyed record without a custom partitioner).
 *
 * stdin, one key per line, tab-separated:
 *   keyHex  numPartitions[,numPartitions...]
 * keyHex is lower- or upper-case hex, empty for a zero-length (non-null) key.
 * stdout, one line per input line, in order:
 *   murmur2  partition[,partition...]
 * Exits with status 2 if BuiltInPartitioner.partitionForKey ever disagrees with
 * Utils.toPositive(Utils.murmur2(key)) % n (it should not: that is its definition).
 */
public final class PartitionForKeys {
    private PartitionForKeys() {}

    public static void main(String[] args) throws Exception {
        StringBuilder out = new StringBuilder(1 << 16);
        PrintStream stdout = new PrintStream(System.out, false, StandardCharsets.US_ASCII);
        try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII))) {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                if (line.isEmpty()) continue;
                int tab = line.indexOf('\t');
                if (tab < 0) throw new IllegalArgumentException("expected keyHex<TAB>counts: " + line);
                byte[] key = fromHex(line.substring(0, tab));
                String[] counts = line.substring(tab + 1).split(",", -1);
                int hash = Utils.murmur2(key);
                out.append(hash).append('\t');
                for (int i = 0; i < counts.length; i++) {
                    int n = Integer.parseInt(counts[i]);
                    int partition = BuiltInPartitioner.partitionForKey(key, n);
                    if (partition != Utils.toPositive(hash) % n) {
                        System.err.println("partitionForKey disagrees with toPositive(murmur2) % n for " + line);
                        System.exit(2);
                    }
                    if (i > 0) out.append(',');
                    out.append(partition);
                }
                out.append('\n');
                if (out.length() > (1 << 16)) {
                    stdout.print(out);
                    out.setLength(0);
                }
            }
        }
        stdout.print(out);
        stdout.flush();
    }

    private static byte[] fromHex(String hex) {
        if (hex.length() % 2 != 0) throw new IllegalArgumentException("odd-length hex: " + hex);
        byte[] b = new byte[hex.length() / 2];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) Integer.parseInt(hex.substring(2 * i, 2 * i + 2), 16);
        }
        return b;
    }
}
