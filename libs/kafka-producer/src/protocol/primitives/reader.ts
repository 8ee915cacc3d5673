import { ProtocolDecodeError } from '../../errors';

/**
 * A bounds-checked big-endian reader over one frame. Every read checks the bytes present first, and
 * every length taken from the wire is checked against what is left before anything is allocated or
 * sliced, so a hostile or truncated frame raises a ProtocolDecodeError rather than reading past its
 * end or allocating by an untrusted length.
 */
export class Reader {
  offset: number;
  readonly end: number;

  constructor(
    readonly buf: Buffer,
    offset = 0,
    end = buf.length,
  ) {
    if (offset < 0 || end > buf.length || offset > end) {
      throw new ProtocolDecodeError(`reader bounds [${offset}, ${end}) outside a buffer of ${buf.length} bytes`);
    }
    this.offset = offset;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  private need(n: number, what: string): void {
    if (n > this.end - this.offset) {
      throw new ProtocolDecodeError(
        `truncated input reading ${what}: need ${n} bytes at offset ${this.offset}, ${this.end - this.offset} left`,
      );
    }
  }

  int8(): number {
    this.need(1, 'int8');
    return this.buf.readInt8(this.offset++);
  }

  bool(): boolean {
    this.need(1, 'boolean');
    return this.buf[this.offset++] !== 0;
  }

  int16(): number {
    this.need(2, 'int16');
    const v = this.buf.readInt16BE(this.offset);
    this.offset += 2;
    return v;
  }

  uint16(): number {
    this.need(2, 'uint16');
    const v = this.buf.readUInt16BE(this.offset);
    this.offset += 2;
    return v;
  }

  int32(): number {
    this.need(4, 'int32');
    const v = this.buf.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  uint32(): number {
    this.need(4, 'uint32');
    const v = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  int64(): bigint {
    this.need(8, 'int64');
    const v = this.buf.readBigInt64BE(this.offset);
    this.offset += 8;
    return v;
  }

  float64(): number {
    this.need(8, 'float64');
    const v = this.buf.readDoubleBE(this.offset);
    this.offset += 8;
    return v;
  }

  unsignedVarint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      this.need(1, 'unsigned varint');
      const b = this.buf[this.offset++];
      if (shift === 28 && (b & 0xf0) !== 0) {
        throw new ProtocolDecodeError(`unsigned varint at offset ${this.offset - 5} does not fit in 32 bits`);
      }
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
      shift += 7;
    }
  }

  varint(): number {
    const raw = this.unsignedVarint();
    return (raw >>> 1) ^ -(raw & 1);
  }

  /** Zigzag 64-bit varint returned as a double; exact for magnitudes below 2^53. */
  varlong(): number {
    let result = 0;
    let multiplier = 1;
    for (let i = 0; ; i++) {
      if (i === 10) throw new ProtocolDecodeError(`varlong at offset ${this.offset - 10} is longer than 10 bytes`);
      this.need(1, 'varlong');
      const b = this.buf[this.offset++];
      result += (b & 0x7f) * multiplier;
      if ((b & 0x80) === 0) break;
      multiplier *= 128;
    }
    // zigzag decode in double arithmetic: even -> n/2, odd -> -(n+1)/2
    return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
  }

  uuid(): Buffer {
    return this.rawBytes(16, 'uuid');
  }

  /** A slice (not a copy) of the next `n` bytes. */
  rawBytes(n: number, what = 'bytes'): Buffer {
    if (n < 0) throw new ProtocolDecodeError(`negative length ${n} for ${what} at offset ${this.offset}`);
    this.need(n, what);
    const v = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }

  skip(n: number): void {
    this.need(n, 'skipped bytes');
    this.offset += n;
  }

  private utf8(length: number): string {
    this.need(length, 'string');
    const v = this.buf.toString('utf8', this.offset, this.offset + length);
    this.offset += length;
    return v;
  }

  string(): string {
    const length = this.int16();
    if (length < 0) throw new ProtocolDecodeError(`null string where a non-null string is required (offset ${this.offset - 2})`);
    return this.utf8(length);
  }

  nullableString(): string | null {
    const length = this.int16();
    if (length === -1) return null;
    if (length < 0) throw new ProtocolDecodeError(`invalid string length ${length} at offset ${this.offset - 2}`);
    return this.utf8(length);
  }

  compactString(): string {
    const v = this.compactNullableString();
    if (v === null) throw new ProtocolDecodeError(`null compact string where a non-null string is required (offset ${this.offset})`);
    return v;
  }

  compactNullableString(): string | null {
    const lengthPlusOne = this.unsignedVarint();
    if (lengthPlusOne === 0) return null;
    return this.utf8(lengthPlusOne - 1);
  }

  bytes(): Buffer {
    const v = this.nullableBytes();
    if (v === null) throw new ProtocolDecodeError(`null bytes where non-null bytes are required (offset ${this.offset})`);
    return v;
  }

  nullableBytes(): Buffer | null {
    const length = this.int32();
    if (length === -1) return null;
    return this.rawBytes(length, 'bytes');
  }

  compactBytes(): Buffer {
    const v = this.compactNullableBytes();
    if (v === null) throw new ProtocolDecodeError(`null compact bytes where non-null bytes are required (offset ${this.offset})`);
    return v;
  }

  compactNullableBytes(): Buffer | null {
    const lengthPlusOne = this.unsignedVarint();
    if (lengthPlusOne === 0) return null;
    return this.rawBytes(lengthPlusOne - 1, 'compact bytes');
  }

  /**
   * An array length (null = -1 classic / 0 compact). Each element takes at least one byte, so a count
   * larger than the bytes left is rejected here, before a caller allocates an array of that size.
   */
  arrayLength(compact: boolean): number | null {
    let length: number;
    if (compact) {
      const lengthPlusOne = this.unsignedVarint();
      if (lengthPlusOne === 0) return null;
      length = lengthPlusOne - 1;
    } else {
      length = this.int32();
      if (length === -1) return null;
      if (length < 0) throw new ProtocolDecodeError(`invalid array length ${length} at offset ${this.offset - 4}`);
    }
    if (length > this.remaining) {
      throw new ProtocolDecodeError(`array length ${length} exceeds the ${this.remaining} bytes left at offset ${this.offset}`);
    }
    return length;
  }

  /**
   * Reads a tagged-field section. Known tags are handed to `onTag` with a reader bounded to the field;
   * unknown ones (onTag returns false) are skipped, as the protocol requires of forward-compatible peers.
   */
  taggedFields(onTag?: (tag: number, field: Reader) => boolean): void {
    const count = this.unsignedVarint();
    if (count > this.remaining) throw new ProtocolDecodeError(`tagged field count ${count} exceeds the bytes left`);
    for (let i = 0; i < count; i++) {
      const tag = this.unsignedVarint();
      const size = this.unsignedVarint();
      this.need(size, `tagged field ${tag}`);
      const start = this.offset;
      if (onTag !== undefined) {
        const field = new Reader(this.buf, start, start + size);
        onTag(tag, field);
      }
      this.offset = start + size;
    }
  }
}
