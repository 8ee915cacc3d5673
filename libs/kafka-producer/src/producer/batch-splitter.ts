import { RecordBatchBuilder } from '../protocol/records/record-batch-builder';
import { decodeRecordBatch, type Decompress } from '../protocol/records/record-batch-decoder';
import { ProducerBatch } from './producer-batch';

/**
 * Java's splitAndReenqueue, the splitting half: rebuilds a batch the broker rejected as too large into
 * smaller batches (at most half its size, at most `batchSize`) carrying the same records, timestamps
 * and completion handlers. Each split at least halves the size, so repeated rejections end with
 * single-record batches, which then fail alone with the broker's error. Parts are allocated outside the
 * pool (as in Java) and share the old batch's creation id, attempts and place in the partition's order.
 * The caller closes the parts (compressing them) and queues them.
 */
export function splitBatch(batch: ProducerBatch, batchSize: number, bytes: Buffer, decompress: Decompress | undefined): ProducerBatch[] {
  const decoded = decodeRecordBatch(bytes, 0, decompress);
  const target = Math.max(Math.min(batchSize, Math.floor(batch.builder.sizeInBytes / 2)), 128);
  const parts: ProducerBatch[] = [];
  let current: ProducerBatch | null = null;
  for (let i = 0; i < decoded.records.length; i++) {
    const r = decoded.records[i];
    const ts = batch.recordTimestamp(i);
    if (current !== null && batch.transferRecord(i, current, ts, r.key, r.value, r.headers)) continue;
    const size = Math.max(target, RecordBatchBuilder.estimateSize(r.key, r.value, r.headers));
    current = new ProducerBatch(batch.partitionState, Buffer.allocUnsafe(size), batch.createdMs, false);
    if (!batch.transferRecord(i, current, ts, r.key, r.value, r.headers)) throw new Error('internal: a record did not fit its own split batch');
    parts.push(current);
  }
  const width = batch.orderWidth / parts.length;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    part.id = batch.id;
    part.order = batch.order + i * width;
    part.orderWidth = width;
    part.attempts = batch.attempts;
  }
  return parts;
}
