import { KafkaRecord, KafkaRecordBuilder } from './kafka-record.builder';

describe('KafkaRecordBuilder', () => {
  it('builds a KafkaRecord carrying value, key, headers, partition and timestamp', () => {
    const when = new Date('2030-01-02T03:04:05Z');
    const record = new KafkaRecordBuilder({ id: 7 }).setKey('order-7').setHeaders([['source', 'api']]).setPartition(2).setTimestamp(when).build();
    expect(record).toBeInstanceOf(KafkaRecord);
    expect(record.value).toEqual({ id: 7 });
    expect(record.key).toBe('order-7');
    expect(record.headers).toEqual([['source', 'api']]);
    expect(record.partition).toBe(2);
    expect(record.timestamp).toBe(when);
  });

  it('leaves unset fields absent, so the producer applies its own defaults', () => {
    const record = new KafkaRecordBuilder('v').build();
    expect(Object.keys(record)).toEqual(['value']);
  });

  it('takes a snapshot on build(): later setter calls do not change a built record, and built records are frozen', () => {
    const builder = new KafkaRecordBuilder('first').setKey('k1');
    const first = builder.build();
    const second = builder.setValue('second').setKey('k2').build();
    expect([first.value, first.key]).toEqual(['first', 'k1']);
    expect([second.value, second.key]).toEqual(['second', 'k2']);
    expect(Object.isFrozen(first)).toBe(true);
  });

  it('recognises only built records: a plain object with key and value fields is not a KafkaRecord', () => {
    expect(KafkaRecord.isKafkaRecord(new KafkaRecordBuilder(1).build())).toBe(true);
    expect(KafkaRecord.isKafkaRecord({ key: 'k', value: 'v', headers: {} })).toBe(false);
    expect(KafkaRecord.isKafkaRecord(null)).toBe(false);
    expect(KafkaRecord.isKafkaRecord('value')).toBe(false);
  });

  it('recognises a record made by another copy of the library (same brand, different class)', () => {
    const foreign = Object.assign(Object.create(null), { value: 'v', [Symbol.for('nestjs-kafka-wire-producer.KafkaRecord')]: true });
    expect(KafkaRecord.isKafkaRecord(foreign)).toBe(true);
  });
});
