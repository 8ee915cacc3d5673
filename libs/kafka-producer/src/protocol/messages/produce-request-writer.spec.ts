import { Writer } from '../primitives/writer';
import { ProduceApi } from './produce.generated';
import { writeProduceRequest, type ProduceTopicRecords } from './produce-request-writer';

/** Splices attached buffers where they were attached, as the Connection does on the socket. */
function encodeWithAttachments(version: number, topics: ProduceTopicRecords[], transactionalId: string | null): Buffer {
  const w = new Writer(16);
  const parts: Buffer[] = [];
  let start = 0;
  writeProduceRequest(
    w,
    (bytes) => {
      parts.push(Buffer.from(w.toBuffer().subarray(start, w.offset)), bytes);
      start = w.offset;
    },
    version,
    transactionalId,
    -1,
    30000,
    topics,
  );
  parts.push(Buffer.from(w.toBuffer().subarray(start)));
  return Buffer.concat(parts);
}

describe('the zero-copy Produce request writer', () => {
  const topics: ProduceTopicRecords[] = [
    { name: 'orders', topicId: Buffer.alloc(16, 1), partitions: [{ index: 0, records: Buffer.alloc(300, 7) }, { index: 5, records: Buffer.alloc(20000, 9) }] },
    { name: 'payments-é', topicId: Buffer.alloc(16, 2), partitions: [{ index: 2, records: Buffer.alloc(130, 3) }] },
  ];

  it.each(Array.from({ length: 11 }, (_, i) => i + 3))('writes exactly what the generated codec writes, version %d', (version) => {
    for (const transactionalId of [null, 'txn-1']) {
      const generated = new Writer();
      ProduceApi.encodeRequest(
        generated,
        {
          transactionalId,
          acks: -1,
          timeoutMs: 30000,
          topicData: topics.map((t) => ({ name: version < 13 ? t.name : undefined, topicId: version >= 13 ? t.topicId : undefined, partitionData: t.partitions.map((p) => ({ index: p.index, records: p.records })) })),
        },
        version,
      );
      expect(encodeWithAttachments(version, topics, transactionalId).equals(generated.toBuffer())).toBe(true);
    }
  });

  it('refuses versions outside 3-13', () => {
    expect(() => encodeWithAttachments(2, topics, null)).toThrow(/outside 3-13/);
  });
});
