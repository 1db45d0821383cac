import assert from "node:assert/strict";
import { seededRandom } from "../testing/random.ts";
import { signedLeb128, unsignedLeb128 } from "./leb128.ts";

/** Decodes LEB128 bytes back to a number (BigInt arithmetic, independent of the encoder). */
function decode(bytes: number[], signed: boolean): number {
  let value = 0n, shift = 0n;
  bytes.forEach((byte, i) => {
    assert.equal((byte & 0x80) !== 0, i < bytes.length - 1, `continuation bit of byte ${i}`);
    value |= BigInt(byte & 0x7f) << shift;
    shift += 7n;
  });
  if (signed && (bytes.at(-1)! & 0x40) !== 0) value -= 1n << shift;
  return Number(value);
}

Deno.test("LEB128 matches the published examples", () => {
  // The worked examples of the LEB128 article on Wikipedia, and single-byte boundaries.
  assert.deepEqual(unsignedLeb128(624485), [0xe5, 0x8e, 0x26]);
  assert.deepEqual(signedLeb128(-123456), [0xc0, 0xbb, 0x78]);
  assert.deepEqual(unsignedLeb128(0), [0x00]);
  assert.deepEqual(unsignedLeb128(127), [0x7f]);
  assert.deepEqual(unsignedLeb128(128), [0x80, 0x01]);
  assert.deepEqual(signedLeb128(63), [0x3f]);
  assert.deepEqual(signedLeb128(64), [0xc0, 0x00]);
  assert.deepEqual(signedLeb128(-64), [0x40]);
  assert.deepEqual(signedLeb128(-65), [0xbf, 0x7f]);
});

Deno.test("LEB128 round-trips edge and random values with minimal lengths", () => {
  const rand = seededRandom(7);
  const unsigned = [0, 1, 127, 128, 16383, 16384, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1];
  const signed = [0, -1, 63, -64, 64, -65, 8191, -8192, 2 ** 31 - 1, -(2 ** 31)];
  for (let i = 0; i < 2000; i++) {
    const u = Math.floor(rand() * 2 ** (1 + Math.floor(rand() * 32)));
    unsigned.push(Math.min(u, 2 ** 32 - 1));
    signed.push(Math.floor((rand() - 0.5) * 2 ** (1 + Math.floor(rand() * 32))));
  }
  for (const v of unsigned) {
    const bytes = unsignedLeb128(v);
    assert.equal(decode(bytes, false), v, `unsigned ${v}`);
    assert.equal(bytes.length, Math.max(1, Math.ceil(Math.log2(v + 1) / 7)), `length of ${v}`);
  }
  for (const v of signed) {
    const bytes = signedLeb128(v);
    assert.equal(decode(bytes, true), v, `signed ${v}`);
    // Minimal: one byte fewer would not hold the value's bits plus the sign bit.
    const bits = v >= 0 ? Math.ceil(Math.log2(v + 1)) + 1 : Math.ceil(Math.log2(-v)) + 1;
    assert.equal(bytes.length, Math.max(1, Math.ceil(bits / 7)), `length of ${v}`);
  }
});

Deno.test("LEB128 writes i32 bit patterns for signed values from 2^31 and rejects others", () => {
  assert.deepEqual(signedLeb128(0xffffffff), signedLeb128(-1));
  assert.deepEqual(signedLeb128(2 ** 31), signedLeb128(-(2 ** 31)));
  assert.throws(() => unsignedLeb128(-1), /unsignedLeb128: -1 is not an integer in \[0, 2\^32\)/);
  assert.throws(() => unsignedLeb128(2 ** 32), /4294967296/);
  assert.throws(() => unsignedLeb128(1.5), /1.5/);
  assert.throws(() => signedLeb128(-(2 ** 31) - 1), /signedLeb128: -2147483649/);
});
