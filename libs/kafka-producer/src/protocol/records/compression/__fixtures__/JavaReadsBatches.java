import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.MutableRecordBatch;
import org.apache.kafka.common.record.internal.Record;

/**
 * The Java client reading batches that we compressed: each stdin line is `name hex` (a whole RecordBatch
 * v2, or several); for each batch Java checks the CRC, decompresses with its own codecs (the code path of
 * the consumer's fetcher and of the broker's validation on append) and prints
 *
 *   name codec recordCount sha256
 *
 * where sha256 covers the records in the canonical form of recordsDigest() in compression-test-helpers.ts.
 * A failure prints `name ERROR message` and the run goes on. Used by test/compression.e2e-spec.ts.
 */
public class JavaReadsBatches {
    static void putInt(MessageDigest md, int n) {
        md.update(new byte[] {(byte) (n >>> 24), (byte) (n >>> 16), (byte) (n >>> 8), (byte) n});
    }

    static void putBytes(MessageDigest md, ByteBuffer b) {
        if (b == null) {
            putInt(md, -1);
            return;
        }
        putInt(md, b.remaining());
        md.update(b.duplicate());
    }

    static byte[] unhex(String s) {
        byte[] out = new byte[s.length() / 2];
        for (int i = 0; i < out.length; i++) out[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
        return out;
    }

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII));
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isEmpty()) continue;
            int space = line.indexOf(' ');
            String name = line.substring(0, space);
            try {
                MemoryRecords records = MemoryRecords.readableRecords(ByteBuffer.wrap(unhex(line.substring(space + 1))));
                for (MutableRecordBatch batch : records.batches()) {
                    batch.ensureValid();
                    MessageDigest md = MessageDigest.getInstance("SHA-256");
                    int count = 0;
                    for (Record r : batch) {
                        r.ensureValid();
                        md.update(ByteBuffer.allocate(8).putLong(0, r.timestamp()));
                        putBytes(md, r.key());
                        putBytes(md, r.value());
                        Header[] headers = r.headers();
                        putInt(md, headers.length);
                        for (Header h : headers) {
                            byte[] key = h.key().getBytes(StandardCharsets.UTF_8);
                            putInt(md, key.length);
                            md.update(key);
                            putBytes(md, h.value() == null ? null : ByteBuffer.wrap(h.value()));
                        }
                        count++;
                    }
                    StringBuilder hex = new StringBuilder();
                    for (byte b : md.digest()) hex.append(String.format("%02x", b & 0xff));
                    System.out.println(name + " " + batch.compressionType().name + " " + count + " " + hex);
                }
            } catch (Exception e) {
                System.out.println(name + " ERROR " + e.toString().replace('\n', ' '));
            }
        }
    }
}
