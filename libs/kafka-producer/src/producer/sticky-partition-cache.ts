import type { TopicInfo } from './metadata';

/**
 * Keyless records stick to one partition until about batch.size bytes went to it, then move to
 * another partition chosen at random among those with a leader (KIP-794's built-in partitioner,
 * without the adaptive weighting yet).
 */
export class StickyPartitionCache {
  private readonly current = new Map<string, { partition: number; bytes: number }>();

  constructor(private readonly batchSize: number) {}

  partition(topic: TopicInfo): number {
    const entry = this.current.get(topic.name);
    if (entry !== undefined && entry.partition < topic.partitions.length) return entry.partition;
    return this.next(topic, -1);
  }

  recordAppended(topic: TopicInfo, partition: number, bytes: number): void {
    const entry = this.current.get(topic.name);
    if (entry === undefined || entry.partition !== partition) return;
    entry.bytes += bytes;
    if (entry.bytes >= this.batchSize) this.next(topic, partition);
  }

  private next(topic: TopicInfo, previous: number): number {
    const available: number[] = [];
    for (const p of topic.partitions) if (p !== undefined && p.leaderId >= 0 && p.partition !== previous) available.push(p.partition);
    let partition: number;
    if (available.length > 0) partition = available[Math.floor(Math.random() * available.length)];
    else partition = topic.partitions.length <= 1 ? 0 : (previous + 1) % topic.partitions.length;
    this.current.set(topic.name, { partition, bytes: 0 });
    return partition;
  }
}
