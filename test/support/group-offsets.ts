import type { KafkaClusterBase } from '@app/kafka-testing';

const CONSUMER_GROUP_COMMAND = 'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand';

/**
 * The group's committed offsets as Kafka's own kafka-consumer-groups tool reports them (it shares no code
 * with the producer): `topic:partition` → offset. A partition without a committed offset is absent, and a
 * group that does not exist gives an empty map.
 */
export async function committedOffsets(cluster: KafkaClusterBase, group: string): Promise<Map<string, bigint>> {
  const result = await cluster.runJavaTool(CONSUMER_GROUP_COMMAND, ['--bootstrap-server', '{bootstrap}', '--describe', '--offsets', '--group', group], { timeoutMs: 60_000 });
  const out = `${result.stdout}\n${result.stderr}`;
  if (/does not exist/i.test(out)) return new Map();
  if (result.code !== 0) throw new Error(`kafka-consumer-groups --describe failed (${result.code}):\n${out}`);
  const offsets = new Map<string, bigint>();
  for (const line of result.stdout.split('\n')) {
    const cols = line.trim().split(/\s+/);
    // GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG ...; '-' when nothing is committed
    if (cols.length < 4 || cols[0] !== group || !/^\d+$/.test(cols[2])) continue;
    if (/^\d+$/.test(cols[3])) offsets.set(`${cols[1]}:${cols[2]}`, BigInt(cols[3]));
  }
  return offsets;
}
