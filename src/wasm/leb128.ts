/**
 * LEB128, the variable-length integer encoding of the WebAssembly binary format: 7 bits per
 * byte, low bits first, the high bit set on every byte but the last.
 *
 * @module
 */

/**
 * Encodes a non-negative integer below 2^32 as unsigned LEB128 (indices, sizes, `u32`
 * immediates).
 *
 * @example
 * ```ts
 * unsignedLeb128(624485); // [0xe5, 0x8e, 0x26]
 * ```
 */
export function unsignedLeb128(value: number): number[] {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`unsignedLeb128: ${value} is not an integer in [0, 2^32)`);
  }
  const out: number[] = [];
  let v = value;
  do {
    const byte = v % 128;
    v = Math.floor(v / 128);
    out.push(v === 0 ? byte : byte | 0x80);
  } while (v !== 0);
  return out;
}

/**
 * Encodes an integer in [-2^31, 2^32) as signed LEB128 (`i32.const` immediates; values of
 * 2^31 and above are written as their i32 bit pattern).
 *
 * @example
 * ```ts
 * signedLeb128(-123456); // [0xc0, 0xbb, 0x78]
 * ```
 */
export function signedLeb128(value: number): number[] {
  if (!Number.isInteger(value) || value < -0x80000000 || value > 0xffffffff) {
    throw new RangeError(`signedLeb128: ${value} is not an integer in [-2^31, 2^32)`);
  }
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}
