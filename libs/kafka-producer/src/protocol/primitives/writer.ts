import { ProtocolEncodeError } from '../../errors';
import { sizeOfUnsignedVarint, writeUnsignedVarint, writeVarint, writeVarlong } from './varint';

const INT16_MAX = 0x7fff;

/**
 * A growable big-endian buffer for requests. One Writer builds one whole request (size prefix
 * included), so a request reaches the socket as a single contiguous write.
 */
export class Writer {
  private buf: Buffer;
  offset = 0;

  constructor(initialCapacity = 256) {
    this.buf = Buffer.allocUnsafe(initialCapacity);
  }

  /** Makes room for `n` more bytes; doubles so a large request grows in a few steps. */
  ensure(n: number): void {
    const needed = this.offset + n;
    if (needed <= this.buf.length) return;
    let capacity = this.buf.length * 2;
    while (capacity < needed) capacity *= 2;
    const next = Buffer.allocUnsafe(capacity);
    this.buf.copy(next, 0, 0, this.offset);
    this.buf = next;
  }

  /** The bytes written so far (a view, not a copy). */
  toBuffer(): Buffer {
    return this.buf.subarray(0, this.offset);
  }

  /** Overwrites an int32 at an earlier position (size prefixes). */
  patchInt32(position: number, value: number): void {
    this.buf.writeInt32BE(value, position);
  }

  int8(value: number): this {
    this.ensure(1);
    this.buf.writeInt8(value, this.offset);
    this.offset += 1;
    return this;
  }

  bool(value: boolean): this {
    this.ensure(1);
    this.buf[this.offset++] = value ? 1 : 0;
    return this;
  }

  int16(value: number): this {
    this.ensure(2);
    this.buf.writeInt16BE(value, this.offset);
    this.offset += 2;
    return this;
  }

  uint16(value: number): this {
    this.ensure(2);
    this.buf.writeUInt16BE(value, this.offset);
    this.offset += 2;
    return this;
  }

  int32(value: number): this {
    this.ensure(4);
    this.buf.writeInt32BE(value, this.offset);
    this.offset += 4;
    return this;
  }

  uint32(value: number): this {
    this.ensure(4);
    this.buf.writeUInt32BE(value, this.offset);
    this.offset += 4;
    return this;
  }

  int64(value: bigint): this {
    this.ensure(8);
    this.buf.writeBigInt64BE(value, this.offset);
    this.offset += 8;
    return this;
  }

  float64(value: number): this {
    this.ensure(8);
    this.buf.writeDoubleBE(value, this.offset);
    this.offset += 8;
    return this;
  }

  unsignedVarint(value: number): this {
    this.ensure(5);
    this.offset = writeUnsignedVarint(this.buf, this.offset, value);
    return this;
  }

  varint(value: number): this {
    this.ensure(5);
    this.offset = writeVarint(this.buf, this.offset, value);
    return this;
  }

  varlong(value: number): this {
    this.ensure(10);
    this.offset = writeVarlong(this.buf, this.offset, value);
    return this;
  }

  uuid(value: Buffer): this {
    if (value.length !== 16) throw new ProtocolEncodeError(`a UUID is 16 bytes, got ${value.length}`);
    return this.raw(value);
  }

  raw(bytes: Buffer | Uint8Array): this {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.offset);
    this.offset += bytes.length;
    return this;
  }

  string(value: string): this {
    const length = Buffer.byteLength(value, 'utf8');
    if (length > INT16_MAX) throw new ProtocolEncodeError(`string of ${length} bytes exceeds the int16 length limit`);
    this.ensure(2 + length);
    this.buf.writeInt16BE(length, this.offset);
    this.offset += 2;
    this.offset += this.buf.write(value, this.offset, length, 'utf8');
    return this;
  }

  nullableString(value: string | null): this {
    return value === null ? this.int16(-1) : this.string(value);
  }

  compactString(value: string): this {
    const length = Buffer.byteLength(value, 'utf8');
    this.ensure(5 + length);
    this.offset = writeUnsignedVarint(this.buf, this.offset, length + 1);
    this.offset += this.buf.write(value, this.offset, length, 'utf8');
    return this;
  }

  compactNullableString(value: string | null): this {
    return value === null ? this.unsignedVarint(0) : this.compactString(value);
  }

  bytes(value: Buffer): this {
    this.int32(value.length);
    return this.raw(value);
  }

  nullableBytes(value: Buffer | null): this {
    return value === null ? this.int32(-1) : this.bytes(value);
  }

  compactBytes(value: Buffer): this {
    this.unsignedVarint(value.length + 1);
    return this.raw(value);
  }

  compactNullableBytes(value: Buffer | null): this {
    return value === null ? this.unsignedVarint(0) : this.compactBytes(value);
  }

  /** Array length in the classic (int32, -1 = null) or compact (unsigned varint n+1, 0 = null) form. */
  arrayLength(length: number | null, compact: boolean): this {
    if (compact) return this.unsignedVarint(length === null ? 0 : length + 1);
    return this.int32(length === null ? -1 : length);
  }

  /**
   * A tagged-field section. `fields` holds already-encoded field bodies by tag; tags must be written
   * in ascending order, which the caller guarantees by building them in schema order.
   */
  taggedFields(fields: ReadonlyArray<readonly [tag: number, body: Buffer]> | undefined): this {
    if (fields === undefined || fields.length === 0) return this.unsignedVarint(0);
    this.unsignedVarint(fields.length);
    for (const [tag, body] of fields) {
      this.unsignedVarint(tag);
      this.unsignedVarint(body.length);
      this.raw(body);
    }
    return this;
  }
}

export { sizeOfUnsignedVarint };
