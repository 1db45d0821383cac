import assert from "node:assert/strict";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { dequantize, probabilityRows, softmax, topK } from "./scores.ts";

Deno.test("softmax matches 1 / sum exp(x_j - x_i) and survives large logits", () => {
  const rand = seededRandom(7);
  for (const offset of [0, 800, -800]) {
    const logits = Array.from({ length: 37 }, () => offset + 20 * (rand() - 0.5));
    const actual = softmax(logits);
    logits.forEach((xi, i) => {
      const expected = 1 / logits.reduce((s, xj) => s + Math.exp(xj - xi), 0);
      assert.ok(
        Math.abs(actual[i] - expected) <= 1e-15 + 1e-13 * expected,
        `offset ${offset} i ${i}`,
      );
    });
    assert.ok(Math.abs(actual.reduce((s, p) => s + p, 0) - 1) < 1e-12);
  }
  assert.throws(() => softmax([1, Infinity]), /non-finite maximum Infinity/);
});

Deno.test("dequantize applies per-tensor and per-axis quant params, and decodes f16", () => {
  const rand = seededRandom(3);
  const u8 = randomTensor(rand, "u8", [2, 5], 0, 256);
  const quant = { scale: [0.25], zeroPoint: [131] };
  assert.deepEqual(
    Array.from(dequantize({ ...u8, quant })),
    Array.from(u8.data, (q) => 0.25 * (q - 131)),
  );
  // The fallback (the output's declared quant) applies only when the tensor has none.
  assert.deepEqual(Array.from(dequantize(u8, quant)), Array.from(dequantize({ ...u8, quant })));

  const i8 = randomTensor(rand, "i8", [2, 3, 2], -128, 128);
  const perAxis = { scale: [0.5, 0.125, 2], zeroPoint: [-3, 0, 7], axis: 1 };
  const expected: number[] = [];
  for (let n = 0; n < 2; n++) {
    for (let c = 0; c < 3; c++) {
      for (let k = 0; k < 2; k++) {
        expected.push(perAxis.scale[c] * (i8.data[n * 6 + c * 2 + k] - perAxis.zeroPoint[c]));
      }
    }
  }
  assert.deepEqual(Array.from(dequantize({ ...i8, quant: perAxis })), expected);

  // 1.0, -2.0, 2^-24 (smallest subnormal), 65504 (largest finite) in IEEE half precision.
  const f16 = {
    dtype: "f16" as const,
    shape: [4],
    data: Uint16Array.of(0x3c00, 0xc000, 1, 0x7bff),
  };
  assert.deepEqual(Array.from(dequantize(f16)), [1, -2, 2 ** -24, 65504]);

  assert.throws(() => dequantize(u8), /Output of dtype u8 \[2,5\] has no quant params/);
  assert.throws(
    () => dequantize({ ...i8, quant: { scale: [1, 1], zeroPoint: [0, 0], axis: 1 } }),
    /has 2 quant scales for 3 indices along axis 1/,
  );
  const i32 = { dtype: "i32" as const, shape: [2], data: Int32Array.of(1, 2) };
  assert.throws(() => dequantize(i32), /dtype i32 \[2\] holds no class scores/);
});

Deno.test("probabilityRows applies softmax per row to logits only", () => {
  const scores = Float64Array.of(1, 2, 3, 0.1, 0.2, 0.7);
  const logits = probabilityRows(scores, 2, "logits");
  assert.deepEqual(Array.from(logits[0]), Array.from(softmax([1, 2, 3])));
  assert.deepEqual(Array.from(logits[1]), Array.from(softmax([0.1, 0.2, 0.7])));
  const probabilities = probabilityRows(scores, 2, "probabilities");
  assert.deepEqual(probabilities.map((r) => Array.from(r)), [[1, 2, 3], [0.1, 0.2, 0.7]]);
  assert.throws(
    () => probabilityRows(Float64Array.of(1, NaN), 1, "logits"),
    /NaN score at flat index 1/,
  );
});

Deno.test("topK ranks by probability, equal ones by lower index, and caps k", () => {
  const probabilities = [0.1, 0.3, 0.05, 0.3, 0.25];
  assert.deepEqual(topK(probabilities, 3, ["a", "b", "c", "d", "e"]), [
    { index: 1, label: "b", probability: 0.3 },
    { index: 3, label: "d", probability: 0.3 },
    { index: 4, label: "e", probability: 0.25 },
  ]);
  const all = topK(probabilities, 99);
  assert.deepEqual(all.map((c) => c.index), [1, 3, 4, 0, 2]);
  assert.ok(all.every((c) => c.label === null));
});
