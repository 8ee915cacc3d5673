/**
 * Kafka's murmur2 (the Java client's Utils.murmur2, seed 0x9747b28c) with 32-bit integer arithmetic,
 * so a key lands on the same partition as with the Java client.
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  const m = 0x5bd1e995;
  let h = 0x9747b28c ^ length;
  const length4 = length & ~3;
  for (let i = 0; i < length4; i += 4) {
    let k = (data[i] & 0xff) | ((data[i + 1] & 0xff) << 8) | ((data[i + 2] & 0xff) << 16) | ((data[i + 3] & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const tail = length & 3;
  if (tail === 3) h ^= (data[length4 + 2] & 0xff) << 16;
  if (tail >= 2) h ^= (data[length4 + 1] & 0xff) << 8;
  if (tail >= 1) {
    h ^= data[length4] & 0xff;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** Java's Utils.toPositive: masks the sign bit (not Math.abs, which differs for MIN_VALUE). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/** Partition for a keyed record: the same choice as the Java client's built-in partitioner. */
export function partitionForKey(key: Uint8Array, numPartitions: number): number {
  return toPositive(murmur2(key)) % numPartitions;
}

/** What a custom partitioner can see of the cluster. */
export interface PartitionerCluster {
  partitionCountForTopic(topic: string): number;
  availablePartitionsForTopic(topic: string): readonly number[];
}

/**
 * A user-supplied partitioner (Java's Partitioner). Returning -1 (or undefined) hands the choice back
 * to the built-in sticky partitioner.
 */
export interface Partitioner {
  partition(topic: string, key: Buffer | null, value: Buffer | null, cluster: PartitionerCluster): number | undefined;
  close?(): void;
}
