import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.ObjectSerializationCache;
import org.apache.kafka.common.protocol.Readable;

/**
 * Independent check of our generated codecs: reads lines "Api side version hex" encoded by our
 * TypeScript codecs, parses each with the Java client's own generated message class, writes it back
 * with the Java class, and prints "OK" or the mismatch. Uses only kafka-clients' public message classes.
 */
public class GoldenCheck {
  public static void main(String[] args) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
    String line;
    int failures = 0;
    int count = 0;
    while ((line = in.readLine()) != null) {
      if (line.isBlank()) continue;
      String[] parts = line.split(" ");
      String api = parts[0];
      String side = parts[1];
      short version = Short.parseShort(parts[2]);
      byte[] ours = hex(parts.length > 3 ? parts[3] : "");
      count++;
      try {
        String cls = "org.apache.kafka.common.message." + api + (side.equals("request") ? "RequestData" : "ResponseData");
        ByteBuffer input = ByteBuffer.wrap(ours);
        ApiMessage msg = (ApiMessage) Class.forName(cls)
            .getConstructor(Readable.class, short.class)
            .newInstance(new ByteBufferAccessor(input), version);
        if (input.remaining() != 0) throw new IllegalStateException(input.remaining() + " bytes left unread");
        ObjectSerializationCache cache = new ObjectSerializationCache();
        int size = msg.size(cache, version);
        ByteBuffer out = ByteBuffer.allocate(size);
        msg.write(new ByteBufferAccessor(out), cache, version);
        String theirs = toHex(out.array());
        if (!theirs.equals(parts.length > 3 ? parts[3] : "")) {
          failures++;
          System.out.println("MISMATCH " + api + " " + side + " v" + version + "\n  ours   " + parts[3] + "\n  theirs " + theirs + "\n  " + msg);
        }
      } catch (Throwable t) {
        failures++;
        Throwable root = t.getCause() != null ? t.getCause() : t;
        System.out.println("ERROR " + api + " " + side + " v" + version + ": " + root);
      }
    }
    System.out.println("checked " + count + ", failures " + failures);
    System.exit(failures == 0 ? 0 : 1);
  }

  static byte[] hex(String s) {
    byte[] b = new byte[s.length() / 2];
    for (int i = 0; i < b.length; i++) b[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
    return b;
  }

  static String toHex(byte[] b) {
    StringBuilder sb = new StringBuilder();
    for (byte x : b) sb.append(String.format("%02x", x));
    return sb.toString();
  }
}
