import { ProtocolEncodeError } from '../../errors';
import type { Writer } from '../primitives/writer';

/** One partition's records in a Produce request: a finished RecordBatch (or several, back to back). */
export interface ProducePartitionRecords {
  readonly index: number;
  readonly records: Buffer;
}

export interface ProduceTopicRecords {
  /** Sent in versions 3-12. */
  readonly name: string;
  /** Sent from version 13 (KIP-516); 16 bytes. */
  readonly topicId: Buffer;
  readonly partitions: readonly ProducePartitionRecords[];
}

/**
 * The Produce request body for the producer's hot path: the same bytes as the generated
 * `ProduceApi.encodeRequest`, but record batches are handed to `attach` instead of being copied into
 * the Writer, so a request of many batches is written with one writev and no copy of the records.
 * `attach` must splice the bytes at the Writer's current position (Connection's RequestFrame does).
 */
export function writeProduceRequest(
  w: Writer,
  attach: (bytes: Buffer) => void,
  version: number,
  transactionalId: string | null,
  acks: number,
  timeoutMs: number,
  topics: readonly ProduceTopicRecords[],
): void {
  if (version < 3 || version > 13) throw new ProtocolEncodeError(`Produce version ${version} is outside 3-13`);
  const flex = version >= 9;
  if (flex) w.compactNullableString(transactionalId);
  else w.nullableString(transactionalId);
  w.int16(acks).int32(timeoutMs);
  w.arrayLength(topics.length, flex);
  for (const topic of topics) {
    if (version >= 13) w.uuid(topic.topicId);
    else if (flex) w.compactString(topic.name);
    else w.string(topic.name);
    w.arrayLength(topic.partitions.length, flex);
    for (const p of topic.partitions) {
      w.int32(p.index);
      if (flex) w.unsignedVarint(p.records.length + 1);
      else w.int32(p.records.length);
      attach(p.records);
      if (flex) w.unsignedVarint(0);
    }
    if (flex) w.unsignedVarint(0);
  }
  if (flex) w.unsignedVarint(0);
}
