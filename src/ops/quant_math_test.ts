import assert from "node:assert/strict";
import { seededRandom } from "../testing/random.ts";
import { f32, fmaF32, quantize, requantize, roundHalfEven } from "./quant_math.ts";

/** The exact value of a finite double as a rational n / 2^k (BigInt numerator, exponent). */
function exact(x: number): { n: bigint; k: number } {
  let k = 0;
  while (!Number.isInteger(x)) {
    x *= 2;
    k++;
  }
  return { n: BigInt(x), k };
}

/** a * b + c rounded once to f32, by exact rational arithmetic and a scan of f32 neighbours. */
function fmaExact(a: number, b: number, c: number): number {
  const ea = exact(a), eb = exact(b), ec = exact(c);
  const k = Math.max(ea.k + eb.k, ec.k);
  const num = ea.n * eb.n * 2n ** BigInt(k - ea.k - eb.k) + ec.n * 2n ** BigInt(k - ec.k);
  const approx = f32(Number(num) / 2 ** k);
  // The answer is approx or a neighbour; pick the nearest, ties to even significand.
  const bits = new DataView(new ArrayBuffer(4));
  const neighbour = (x: number, d: number) => {
    bits.setFloat32(0, x);
    const u = bits.getUint32(0);
    bits.setUint32(0, x === 0 ? (d > 0 ? 1 : 0x80000001) : (x > 0) === (d > 0) ? u + 1 : u - 1);
    return bits.getFloat32(0);
  };
  const candidates = [neighbour(approx, -1), approx, neighbour(approx, 1)];
  const distance = (x: number) => {
    const e = exact(x);
    const kk = Math.max(k, e.k);
    const diff = num * 2n ** BigInt(kk - k) - e.n * 2n ** BigInt(kk - e.k);
    return { abs: diff < 0n ? -diff : diff, kk };
  };
  let best = candidates[0];
  for (const x of candidates.slice(1)) {
    const d1 = distance(x), d0 = distance(best);
    const kk = Math.max(d1.kk, d0.kk);
    const v1 = d1.abs * 2n ** BigInt(kk - d1.kk), v0 = d0.abs * 2n ** BigInt(kk - d0.kk);
    bits.setFloat32(0, x);
    if (v1 < v0 || (v1 === v0 && (bits.getUint32(0) & 1) === 0)) best = x;
  }
  return best;
}

Deno.test("roundHalfEven rounds ties to even in both directions", () => {
  assert.deepEqual(
    [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.49, -3.51, 7].map(roundHalfEven),
    [-2, -2, 0, 0, 2, 2, 3, -4, 7],
  );
});

Deno.test("fmaF32 rounds a * b + c once, including ties and double-rounding traps", () => {
  const rand = seededRandom(11);
  for (let i = 0; i < 30000; i++) {
    let a = Math.floor((rand() - 0.5) * 512);
    let b = f32((rand() - 0.5) * 4);
    let c = f32((rand() - 0.5) * 600);
    if (i % 3 === 1) {
      // a * b + c lands exactly halfway between two f32 values.
      const p = a * b;
      const r = f32(p + c);
      const half = Math.abs(f32(r * (1 + 2 ** -23)) - r) / 2;
      c = f32(c + (r - (p + c)) + half);
    } else if (i % 3 === 2) {
      // a * b is within 2^-29 of c's half ulp: the binary64 sum rounds onto the midpoint,
      // and only its rounding error tells which way the f32 result must go.
      const m = Math.floor(rand() * 20) - 10;
      const start = 129 + 2 * Math.floor(rand() * 64);
      for (let j = 0; j < 64; j++) {
        const odd = 129 + ((start - 129 + 2 * j) % 128);
        const near = f32(2 ** m / odd);
        const delta = (odd * near) / 2 ** m - 1;
        if (delta !== 0 && Math.abs(delta) < 2 ** -29) {
          [a, b] = [rand() < 0.5 ? odd : -odd, near];
          break;
        }
      }
      const k = Math.floor(rand() * 2 ** 22);
      c = f32(-Math.sign(a) * 2 ** (m + 24) * (1 + k * 2 ** -23));
    }
    assert.equal(fmaF32(a, b, c), fmaExact(a, b, c), `fma(${a}, ${b}, ${c})`);
  }
});

Deno.test("requantize and quantize saturate and round half to even", () => {
  assert.equal(requantize(5, 0.5, 10, 0, 255), 12);
  assert.equal(requantize(7, 0.5, 10, 0, 255), 14);
  assert.equal(requantize(-1000, 0.5, 10, 0, 255), 0);
  assert.equal(requantize(2 ** 31 - 1, 1, -3, -128, 127), 127);
  assert.equal(quantize(-0.75, 0.5, 0, -128, 127), -2);
  assert.equal(quantize(NaN, 0.5, 100, 0, 255), 0);
});
