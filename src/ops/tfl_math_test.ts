import assert from "node:assert/strict";
import { TFL_FIXED_POINT_WGSL } from "../shaders/tfl_requantize.ts";
import { gpuTest } from "../testing/gpu.ts";
import { seededRandom } from "../testing/random.ts";
import { runWgsl } from "./_tfl_testing.ts";
import {
  activationRange,
  addParams,
  addValue,
  multiplyByQuantizedMultiplier,
  quantizeMultiplier,
  roundedAverage,
  roundHalfAway,
  roundingDivideByPOT,
  saturatingRoundingDoublingHighMul,
  softmaxRow,
  softmaxTable,
} from "./tfl_math.ts";

const MIN = -0x80000000;
const MAX = 0x7fffffff;

/** gemmlowp's SaturatingRoundingDoublingHighMul on 64-bit BigInts, as the C++ writes it. */
function highMulBig(a: number, b: number): number {
  if (a === MIN && b === MIN) return MAX;
  const ab = BigInt(a) * BigInt(b);
  const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
  return Number((ab + nudge) / (1n << 31n)); // BigInt division truncates toward zero
}

/** gemmlowp's RoundingDivideByPOT on BigInts. */
function divideByPotBig(x: number, exponent: number): number {
  const mask = (1n << BigInt(exponent)) - 1n;
  const big = BigInt(x);
  const remainder = big & mask;
  const threshold = (mask >> 1n) + (big < 0n ? 1n : 0n);
  return Number((big >> BigInt(exponent)) + (remainder > threshold ? 1n : 0n));
}

/** MultiplyByQuantizedMultiplier on BigInts (int32 wrap of the left shift, as C++ does). */
function multiplyBig(x: number, m: number, shift: number): number {
  const shifted = Number(BigInt.asIntN(32, BigInt(x) << BigInt(Math.max(shift, 0))));
  return divideByPotBig(highMulBig(shifted, m), Math.max(-shift, 0));
}

/** Edge values of int32: extremes, powers of two and their neighbours, limb boundaries. */
const EDGES: number[] = (() => {
  const v = new Set<number>([MIN, MIN + 1, MAX, MAX - 1, 0, 1, -1, 2, -2, 3, -3]);
  for (let k = 1; k <= 31; k++) {
    for (const d of [-1, 0, 1]) {
      for (const s of [1, -1]) {
        const x = s * 2 ** k + d;
        if (x >= MIN && x <= MAX) v.add(x);
      }
    }
  }
  for (const x of [0xffff, 0x10001, 0x7fff8000, 0x12345678, -0x12345678, 1518500250]) v.add(x);
  return [...v];
})();

/** Seeded int32 values, uniform over the whole range. */
function randomInts(seed: number, n: number): number[] {
  const rand = seededRandom(seed);
  return Array.from({ length: n }, () => Math.floor(rand() * 2 ** 32) - 2 ** 31);
}

Deno.test("saturatingRoundingDoublingHighMul matches BigInt on all edge pairs and random pairs", () => {
  const a = [...EDGES, ...randomInts(1, 300)];
  const b = [...EDGES, ...randomInts(2, 300)];
  for (const x of a) {
    for (const y of b) {
      const got = saturatingRoundingDoublingHighMul(x, y);
      if (got !== highMulBig(x, y)) {
        throw new Error(`high_mul(${x}, ${y}) = ${got}, expected ${highMulBig(x, y)}`);
      }
    }
  }
});

Deno.test("roundingDivideByPOT matches BigInt for every exponent, ties away from zero", () => {
  for (let e = 0; e <= 31; e++) {
    for (const x of [...EDGES, ...randomInts(3 + e, 100)]) {
      assert.equal(roundingDivideByPOT(x, e), divideByPotBig(x, e), `${x} / 2^${e}`);
    }
  }
  assert.equal(roundingDivideByPOT(5, 1), 3);
  assert.equal(roundingDivideByPOT(-5, 1), -3);
  assert.equal(roundingDivideByPOT(-6, 2), -2); // -1.5 rounds away from zero
});

Deno.test("quantizeMultiplier recovers the real multiplier to 31 bits, like frexp and round", () => {
  const rand = seededRandom(4);
  const reals = [1, 0.5, 0.25, 2 ** -31, 2 ** -32, 3, 1 - 2 ** -40, 0.999999999999, 1e-9, 255.5];
  for (let i = 0; i < 500; i++) reals.push(2 ** (rand() * 40 - 34));
  for (const real of reals) {
    const { multiplier, shift } = quantizeMultiplier(real);
    if (shift < -31 || multiplier === 0) {
      assert.ok(real < 2 ** -31, `${real} flushed to zero`);
      continue;
    }
    assert.ok(multiplier >= 2 ** 30 && multiplier < 2 ** 31, `${real}: multiplier ${multiplier}`);
    // The significand is the nearest 31-bit fraction: within half a unit of real / 2^shift.
    const exact = (real / 2 ** shift) * 2 ** 31;
    assert.ok(Math.abs(exact - multiplier) <= 0.5, `${real}: ${multiplier} vs ${exact}`);
  }
  assert.deepEqual(quantizeMultiplier(0), { multiplier: 0, shift: 0 });
  assert.deepEqual(quantizeMultiplier(1), { multiplier: 2 ** 30, shift: 1 });
  // 1 - 2^-40 rounds up to 2^31, which folds into the shift.
  assert.deepEqual(quantizeMultiplier(1 - 2 ** -40), { multiplier: 2 ** 30, shift: 1 });
  assert.throws(() => quantizeMultiplier(-1), /-1 is not a finite non-negative/);
});

Deno.test("multiplyByQuantizedMultiplier matches BigInt for shifts -31 to 30", () => {
  const rand = seededRandom(5);
  for (let i = 0; i < 4000; i++) {
    const x = i < EDGES.length ? EDGES[i] : Math.floor(rand() * 2 ** 32) - 2 ** 31;
    const m = 2 ** 30 + Math.floor(rand() * 2 ** 30);
    const shift = Math.floor(rand() * 62) - 31;
    assert.equal(multiplyByQuantizedMultiplier(x, m, shift), multiplyBig(x, m, shift));
  }
});

Deno.test("roundHalfAway and roundedAverage round halfway cases away from zero", () => {
  assert.deepEqual([2.5, -2.5, 0.49999997, -0.5, 3].map(roundHalfAway), [3, -3, 0, -1, 3]);
  // C's (sum +- count/2) / count with truncating division.
  assert.deepEqual(
    [[7, 2], [-7, 2], [5, 4], [-5, 4], [6, 4], [-6, 4], [0, 3]].map(([s, n]) =>
      roundedAverage(s, n)
    ),
    [4, -4, 1, -1, 2, -2, 0],
  );
});

Deno.test("activationRange quantizes the fused activation bounds", () => {
  assert.deepEqual(activationRange("NONE", 0.1, 3), [-128, 127]);
  assert.deepEqual(activationRange("RELU", 0.1, -128), [-128, 127]);
  assert.deepEqual(activationRange("RELU", 0.1, 5), [5, 127]);
  // RELU6 with scale 0.05 and zero point -100: 6 / 0.05 = 120 -> 20.
  assert.deepEqual(activationRange("RELU6", 0.05, -100), [-100, 20]);
  assert.deepEqual(activationRange("RELU_N1_TO_1", 0.5, 0), [-2, 2]);
});

Deno.test("ADD with equal scales and zero points reproduces exact integer addition", () => {
  // With s1 = s2 = s_y, the output is q1 + q2 - zp exactly (no rounding anywhere).
  const p = addParams(0.25, -3, 0.25, -3, 0.25, -3);
  for (let a = -128; a <= 127; a += 5) {
    for (let b = -128; b <= 127; b += 7) {
      assert.equal(addValue(a, b, p, -128, 127), Math.min(127, Math.max(-128, a + b + 3)));
    }
  }
});

Deno.test("softmax of equal logits splits probability evenly", () => {
  const table = softmaxTable(0.1, 1);
  assert.equal(table[255], 1);
  // Four equal inputs: 0.25 each = 64/256, minus the zero point 128.
  assert.deepEqual(softmaxRow([7, 7, 7, 7], table, 1 / 256, -128), [-64, -64, -64, -64]);
  // One dominant input saturates at 127, the rest round to the minimum.
  assert.deepEqual(softmaxRow([127, -128, -128], table, 1 / 256, -128), [127, -128, -128]);
});

gpuTest("WGSL tfl_high_mul matches BigInt on every pair of edge values", async (env) => {
  const values = [...EDGES, ...randomInts(6, 60)];
  const pairs = values.flatMap((a) => values.map((b) => [a, b]));
  const got = await runWgsl(
    env,
    "test_tfl_high_mul",
    `${TFL_FIXED_POINT_WGSL}\nfn f(i: u32) -> i32 { return tfl_high_mul(x[2u * i], x[2u * i + 1u]); }`,
    Int32Array.from(pairs.flat()),
    pairs.length,
  );
  pairs.forEach(([a, b], i) => {
    if (got[i] !== highMulBig(a, b)) {
      throw new Error(`tfl_high_mul(${a}, ${b}) = ${got[i]}, expected ${highMulBig(a, b)}`);
    }
  });
});

gpuTest("WGSL tfl_multiply matches BigInt for every shift from -31 to 30", async (env) => {
  const rand = seededRandom(7);
  const triples: number[][] = [];
  for (let shift = -31; shift <= 30; shift++) {
    for (const x of [...EDGES, ...randomInts(8 + shift + 31, 40)]) {
      const m = rand() < 0.1 ? MAX : 2 ** 30 + Math.floor(rand() * 2 ** 30);
      triples.push([x, m, shift]);
    }
  }
  const got = await runWgsl(
    env,
    "test_tfl_multiply",
    `${TFL_FIXED_POINT_WGSL}\nfn f(i: u32) -> i32 { return tfl_multiply(x[3u * i], x[3u * i + 1u], x[3u * i + 2u]); }`,
    Int32Array.from(triples.flat()),
    triples.length,
  );
  triples.forEach(([x, m, shift], i) => {
    const want = multiplyBig(x, m, shift);
    if (got[i] !== want) {
      throw new Error(`tfl_multiply(${x}, ${m}, ${shift}) = ${got[i]}, expected ${want}`);
    }
  });
});
