/**
 * A small reader and writer for the protobuf wire format: varints (64-bit through BigInt
 * where a value may exceed 2^53), fixed32/fixed64, length-delimited fields, packed repeated
 * scalars, and skipping of unknown fields (groups included). Only what ONNX needs; no zigzag.
 *
 * A message is read as a loop over keys:
 *
 * ```ts
 * const r = new ProtoReader(bytes);
 * while (!r.done) {
 *   const key = r.key();
 *   if (fieldOf(key) === 1) name = r.string(key);
 *   else r.skip(key);
 * }
 * ```
 *
 * @module
 */

/** Protobuf wire types. */
export const WIRE = {
  VARINT: 0,
  I64: 1,
  LEN: 2,
  START_GROUP: 3,
  END_GROUP: 4,
  I32: 5,
} as const;

/** A malformed or truncated protobuf message. */
export class ProtobufError extends Error {
  override name = "ProtobufError";
}

/** The field number of a key. */
export function fieldOf(key: number): number {
  return Math.floor(key / 8);
}

/** The wire type of a key. */
export function wireOf(key: number): number {
  return key & 7;
}

const WIRE_NAMES = ["varint", "fixed64", "length-delimited", "start-group", "end-group", "fixed32"];

const utf8 = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();

/** Reads one protobuf message (or a length-delimited part of one) from `bytes`. */
export class ProtoReader {
  /** The whole buffer; readers of nested messages share it. */
  readonly bytes: Uint8Array;
  /** Offset of the next unread byte. */
  pos: number;
  /** Offset one past the last byte of this message. */
  readonly end: number;
  private readonly view: DataView;

  /** Reads `bytes[start, end)`. */
  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    this.bytes = bytes;
    this.pos = start;
    this.end = end;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** True when the whole message has been read. */
  get done(): boolean {
    return this.pos >= this.end;
  }

  /** Reads a field key (field number * 8 + wire type); rejects field 0 and wire types 6, 7. */
  key(): number {
    const at = this.pos;
    const key = this.uint();
    const wire = wireOf(key);
    if (fieldOf(key) === 0 || wire > 5) {
      throw new ProtobufError(`Invalid field key ${key} at byte ${at}`);
    }
    return key;
  }

  /** Reads an unsigned varint that must fit a safe integer (lengths, counts, enums, dims). */
  uint(): number {
    const at = this.pos;
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      result += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (!Number.isSafeInteger(result)) {
          throw new ProtobufError(`Varint at byte ${at} exceeds 2^53`);
        }
        return result;
      }
      scale *= 128;
    }
    throw new ProtobufError(`Varint at byte ${at} is longer than 10 bytes`);
  }

  /** Reads a varint as a signed 64-bit two's-complement integer (protobuf `int64`). */
  int64(): bigint {
    return BigInt.asIntN(64, this.uint64());
  }

  /** Reads a varint as an unsigned 64-bit integer (protobuf `uint64`). */
  uint64(): bigint {
    const at = this.pos;
    let result = 0n;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << BigInt(7 * i);
      if (b < 0x80) {
        if (i === 9 && b > 1) throw new ProtobufError(`Varint at byte ${at} exceeds 64 bits`);
        return result;
      }
    }
    throw new ProtobufError(`Varint at byte ${at} is longer than 10 bytes`);
  }

  /** Reads a varint as protobuf `int32`: the low 32 bits, signed (negatives use 10 bytes). */
  int32(): number {
    const at = this.pos;
    let result = 0;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      if (i < 5) result |= (b & 0x7f) << (7 * i);
      if (b < 0x80) return result | 0;
    }
    throw new ProtobufError(`Varint at byte ${at} is longer than 10 bytes`);
  }

  /** Reads a little-endian fixed32 as a float. */
  float(): number {
    return this.view.getFloat32(this.advance(4), true);
  }

  /** Reads a little-endian fixed64 as a double. */
  double(): number {
    return this.view.getFloat64(this.advance(8), true);
  }

  /** Reads a little-endian fixed32 as an unsigned integer. */
  fixed32(): number {
    return this.view.getUint32(this.advance(4), true);
  }

  /** Reads a little-endian fixed64 as an unsigned integer. */
  fixed64(): bigint {
    return this.view.getBigUint64(this.advance(8), true);
  }

  /** Reads a length-delimited field's bytes (a view into the buffer, not a copy). */
  bytesField(key: number): Uint8Array {
    this.expect(key, WIRE.LEN);
    const length = this.uint();
    const start = this.advance(length);
    return this.bytes.subarray(start, start + length);
  }

  /** Reads a length-delimited field as UTF-8 text. */
  stringField(key: number): string {
    const at = this.pos;
    const raw = this.bytesField(key);
    try {
      return utf8.decode(raw);
    } catch {
      throw new ProtobufError(`Field ${fieldOf(key)} at byte ${at} is not valid UTF-8`);
    }
  }

  /** Returns a reader over a length-delimited field (an embedded message). */
  messageField(key: number): ProtoReader {
    this.expect(key, WIRE.LEN);
    const length = this.uint();
    const start = this.advance(length);
    return new ProtoReader(this.bytes, start, start + length);
  }

  /** Reads a varint field as a safe unsigned integer. */
  uintField(key: number): number {
    this.expect(key, WIRE.VARINT);
    return this.uint();
  }

  /** Reads a varint field as protobuf `int64`. */
  int64Field(key: number): bigint {
    this.expect(key, WIRE.VARINT);
    return this.int64();
  }

  /** Reads a varint field as protobuf `int32`. */
  int32Field(key: number): number {
    this.expect(key, WIRE.VARINT);
    return this.int32();
  }

  /** Reads a fixed32 field as a float. */
  floatField(key: number): number {
    this.expect(key, WIRE.I32);
    return this.float();
  }

  /** Reads a repeated `float` field, packed or not: one chunk of elements per call. */
  packedFloats(key: number): Float32Array {
    if (wireOf(key) === WIRE.I32) return Float32Array.of(this.float());
    const { start, end } = this.packedRange(key, 4);
    const out = new Float32Array((end - start) / 4);
    for (let i = 0; i < out.length; i++) out[i] = this.view.getFloat32(start + 4 * i, true);
    return out;
  }

  /** Reads a repeated `double` field, packed or not: one chunk of elements per call. */
  packedDoubles(key: number): Float64Array {
    if (wireOf(key) === WIRE.I64) return Float64Array.of(this.double());
    const { start, end } = this.packedRange(key, 8);
    const out = new Float64Array((end - start) / 8);
    for (let i = 0; i < out.length; i++) out[i] = this.view.getFloat64(start + 8 * i, true);
    return out;
  }

  /** Reads a repeated `int32` field, packed or not: one chunk of elements per call. */
  packedInt32s(key: number): Int32Array {
    if (wireOf(key) === WIRE.VARINT) return Int32Array.of(this.int32());
    return this.packedVarints(key, Int32Array, (r) => r.int32());
  }

  /** Reads a repeated `int64` field, packed or not: one chunk of elements per call. */
  packedInt64s(key: number): BigInt64Array {
    if (wireOf(key) === WIRE.VARINT) return BigInt64Array.of(this.int64());
    return this.packedVarints(key, BigInt64Array, (r) => r.int64());
  }

  /** Skips a field of any wire type (an unknown field), groups included. */
  skip(key: number): void {
    switch (wireOf(key)) {
      case WIRE.VARINT:
        this.uint64();
        return;
      case WIRE.I64:
        this.advance(8);
        return;
      case WIRE.LEN:
        this.advance(this.uint());
        return;
      case WIRE.START_GROUP:
        this.skipGroup(fieldOf(key));
        return;
      case WIRE.I32:
        this.advance(4);
        return;
      default:
        throw new ProtobufError(
          `Unexpected end-group for field ${fieldOf(key)} at byte ${this.pos}`,
        );
    }
  }

  private skipGroup(field: number): void {
    const at = this.pos;
    while (!this.done) {
      const key = this.key();
      if (wireOf(key) === WIRE.END_GROUP) {
        if (fieldOf(key) !== field) {
          throw new ProtobufError(
            `Group of field ${field} at byte ${at} ends with field ${fieldOf(key)}`,
          );
        }
        return;
      }
      this.skip(key);
    }
    throw new ProtobufError(`Truncated message: group of field ${field} at byte ${at} never ends`);
  }

  private packedVarints<T extends Int32Array | BigInt64Array>(
    key: number,
    Type: { new (length: number): T },
    read: (r: ProtoReader) => T[number],
  ): T {
    const { start, end } = this.packedRange(key, 1);
    // Each varint ends at the one byte of its encoding whose high bit is clear.
    let count = 0;
    for (let i = start; i < end; i++) if (this.bytes[i] < 0x80) count++;
    const out = new Type(count);
    const inner = new ProtoReader(this.bytes, start, end);
    for (let i = 0; i < count; i++) out[i] = read(inner);
    if (!inner.done) throw new ProtobufError(`Packed field ${fieldOf(key)} ends inside a varint`);
    return out;
  }

  private packedRange(key: number, elementBytes: number): { start: number; end: number } {
    this.expect(key, WIRE.LEN);
    const at = this.pos;
    const length = this.uint();
    const start = this.advance(length);
    if (length % elementBytes !== 0) {
      throw new ProtobufError(
        `Packed field ${
          fieldOf(key)
        } at byte ${at} has ${length} bytes, not a multiple of ${elementBytes}`,
      );
    }
    return { start, end: start + length };
  }

  private expect(key: number, wire: number): void {
    if (wireOf(key) !== wire) {
      throw new ProtobufError(
        `Field ${fieldOf(key)} before byte ${this.pos} has wire type ${WIRE_NAMES[wireOf(key)]}, ` +
          `expected ${WIRE_NAMES[wire]}`,
      );
    }
  }

  private byte(): number {
    if (this.pos >= this.end) {
      throw new ProtobufError(`Truncated message: varint runs past byte ${this.end}`);
    }
    return this.bytes[this.pos++];
  }

  /** Moves past `n` bytes and returns where they start. */
  private advance(n: number): number {
    const start = this.pos;
    if (n > this.end - start) {
      throw new ProtobufError(
        `Truncated message: ${n} bytes needed at byte ${start}, ${this.end - start} left`,
      );
    }
    this.pos = start + n;
    return start;
  }
}

/** Builds one protobuf message; nested messages are written through `message`. */
export class ProtoWriter {
  private buf = new Uint8Array(64);
  private view = new DataView(this.buf.buffer);
  private length = 0;

  /** The encoded message (a copy of exactly the written bytes). */
  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }

  /** Writes a field key. */
  key(field: number, wire: number): void {
    this.uint(field * 8 + wire);
  }

  /** Writes a non-negative safe integer as a varint. */
  uint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`Cannot write ${value} as an unsigned varint`);
    }
    this.reserve(10);
    let v = value;
    while (v >= 0x80) {
      this.buf[this.length++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.length++] = v;
  }

  /** Writes a 64-bit integer as a varint; negatives take 10 bytes (two's complement). */
  int64(value: bigint | number): void {
    let v = BigInt.asUintN(64, BigInt(value));
    this.reserve(10);
    while (v >= 0x80n) {
      this.buf[this.length++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.length++] = Number(v);
  }

  /** Writes a little-endian float (fixed32). */
  float(value: number): void {
    this.reserve(4);
    this.view.setFloat32(this.length, value, true);
    this.length += 4;
  }

  /** Writes a little-endian double (fixed64). */
  double(value: number): void {
    this.reserve(8);
    this.view.setFloat64(this.length, value, true);
    this.length += 8;
  }

  /** Writes raw bytes with no key or length. */
  raw(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
  }

  /** Writes a varint field holding a non-negative safe integer. */
  uintField(field: number, value: number): void {
    this.key(field, WIRE.VARINT);
    this.uint(value);
  }

  /** Writes a varint field holding a signed 64-bit (or `int32`) integer. */
  int64Field(field: number, value: bigint | number): void {
    this.key(field, WIRE.VARINT);
    this.int64(value);
  }

  /** Writes a fixed32 float field. */
  floatField(field: number, value: number): void {
    this.key(field, WIRE.I32);
    this.float(value);
  }

  /** Writes a length-delimited bytes field. */
  bytesField(field: number, bytes: Uint8Array): void {
    this.key(field, WIRE.LEN);
    this.uint(bytes.length);
    this.raw(bytes);
  }

  /** Writes a length-delimited UTF-8 string field. */
  stringField(field: number, text: string): void {
    this.bytesField(field, utf8Encoder.encode(text));
  }

  /** Writes an embedded message field whose body `write` produces. */
  message(field: number, write: (w: ProtoWriter) => void): void {
    const inner = new ProtoWriter();
    write(inner);
    this.key(field, WIRE.LEN);
    this.uint(inner.length);
    this.raw(inner.buf.subarray(0, inner.length));
  }

  /** Writes a packed repeated float field (nothing when empty). */
  packedFloats(field: number, values: ArrayLike<number>): void {
    if (values.length === 0) return;
    this.key(field, WIRE.LEN);
    this.uint(values.length * 4);
    for (let i = 0; i < values.length; i++) this.float(values[i]);
  }

  /** Writes a packed repeated double field (nothing when empty). */
  packedDoubles(field: number, values: ArrayLike<number>): void {
    if (values.length === 0) return;
    this.key(field, WIRE.LEN);
    this.uint(values.length * 8);
    for (let i = 0; i < values.length; i++) this.double(values[i]);
  }

  /** Writes a packed repeated `int32`/`int64` field (nothing when empty). */
  packedVarints(field: number, values: ArrayLike<number | bigint>): void {
    if (values.length === 0) return;
    const body = new ProtoWriter();
    for (let i = 0; i < values.length; i++) body.int64(values[i]);
    this.bytesField(field, body.buf.subarray(0, body.length));
  }

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    grown.set(this.buf.subarray(0, this.length));
    this.buf = grown;
    this.view = new DataView(grown.buffer);
  }
}
