import assert from "node:assert/strict";
import { runNodeOnGpu } from "../executor/gpu_node_runner.ts";
import { makeTensor, type Node } from "../graph/types.ts";
import { gpuTest } from "../testing/gpu.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { randomInts } from "./_tfl_testing.ts";
import { tflAdd } from "./tfl_add.ts";

/** Operand and output quantization: scales in ratios up to 8x, arbitrary zero points. */
const QUANTS = [
  { a: [0.05, -3], b: [0.11, 12], y: [0.09, -128], act: [-128, 127] },
  { a: [0.4, 0], b: [0.05, -128], y: [0.2, 5], act: [5, 127] },
  { a: [0.0123, 100], b: [0.0123, 100], y: [0.03, -7], act: [-60, 60] },
];

function node(q: (typeof QUANTS)[number]): Node {
  return {
    name: "add",
    op: "TflAdd",
    inputs: ["a", "b"],
    outputs: ["y"],
    attrs: {
      a_scale: q.a[0],
      a_zero_point: q.a[1],
      b_scale: q.b[0],
      b_zero_point: q.b[1],
      y_scale: q.y[0],
      y_zero_point: q.y[1],
      act_min: q.act[0],
      act_max: q.act[1],
    },
  };
}

Deno.test("TflAdd reference is the real sum, rounded to the output scale within one step", () => {
  const shape = [1, 5, 3, 7];
  QUANTS.forEach((q, i) => {
    const a = makeTensor("i8", shape, randomInts(2 * i + 1, 105));
    const b = makeTensor("i8", shape, randomInts(2 * i + 2, 105));
    const [y] = tflAdd.reference(node(q), [a, b]);
    for (let j = 0; j < 105; j++) {
      const real = q.a[0] * (a.data[j] - q.a[1]) + q.b[0] * (b.data[j] - q.b[1]);
      const ideal = Math.min(q.act[1], Math.max(q.act[0], real / q.y[0] + q.y[1]));
      // TFLite rounds three times (each operand, then the sum): at most one step off.
      assert.ok(
        Math.abs(y.data[j] - ideal) <= 1,
        `case ${i} element ${j}: ${y.data[j]} vs ${ideal}`,
      );
    }
  });
});

gpuTest("TflAdd GPU kernel matches the reference on odd lengths", async ({ gpu, cache }) => {
  for (const [i, q] of QUANTS.entries()) {
    for (const shape of [[1], [3, 7], [2, 5, 3, 9]]) {
      const n = shape.reduce((x, y) => x * y);
      const a = makeTensor("i8", shape, randomInts(10 * i + n, n));
      const b = makeTensor("i8", shape, randomInts(10 * i + n + 1, n));
      const [actual] = await runNodeOnGpu(gpu, node(q), [a, b], cache);
      const [expected] = tflAdd.reference(node(q), [a, b]);
      assertClose(actual.data, expected.data, TOLERANCES.exact, `case ${i} [${shape}]`);
    }
  }
});
