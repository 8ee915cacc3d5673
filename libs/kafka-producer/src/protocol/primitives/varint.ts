/**
 * Variable-length integers as Kafka writes them (protobuf style: 7 bits a byte, little-endian groups,
 * high bit = more bytes follow). "Unsigned" varints carry lengths in flexible versions; "zigzag" ones
 * carry signed record fields. 64-bit values stay in doubles where they fit, because every varlong a
 * producer writes (timestamp deltas) is far below 2^53 and bigint would cost on the hot path.
 */

/** Bytes an unsigned 32-bit varint occupies. */
export function sizeOfUnsignedVarint(value: number): number {
  let v = value >>> 0;
  let bytes = 1;
  while (v >= 0x80) {
    v >>>= 7;
    bytes++;
  }
  return bytes;
}

/** Bytes a zigzag-encoded 32-bit varint occupies. */
export function sizeOfVarint(value: number): number {
  return sizeOfUnsignedVarint((value << 1) ^ (value >> 31));
}

/** Bytes a zigzag-encoded 64-bit varint occupies, for a value that is a safe integer. */
export function sizeOfVarlong(value: number): number {
  let v = value >= 0 ? value * 2 : -value * 2 - 1;
  let bytes = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    bytes++;
  }
  return bytes;
}

/** Writes an unsigned 32-bit varint at `offset`; returns the offset after it. */
export function writeUnsignedVarint(buf: Buffer, offset: number, value: number): number {
  let v = value >>> 0;
  while (v >= 0x80) {
    buf[offset++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[offset++] = v;
  return offset;
}

/** Writes a zigzag 32-bit varint at `offset`; returns the offset after it. */
export function writeVarint(buf: Buffer, offset: number, value: number): number {
  return writeUnsignedVarint(buf, offset, (value << 1) ^ (value >> 31));
}

/** Writes a zigzag 64-bit varint for a safe-integer value; returns the offset after it. */
export function writeVarlong(buf: Buffer, offset: number, value: number): number {
  if (value >= -0x40000000 && value < 0x40000000) {
    return writeUnsignedVarint(buf, offset, ((value << 1) ^ (value >> 31)) >>> 0);
  }
  let v = value >= 0 ? value * 2 : -value * 2 - 1;
  while (v >= 0x80) {
    buf[offset++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[offset++] = v;
  return offset;
}
