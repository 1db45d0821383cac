import assert from "node:assert/strict";
import { runNodeOnGpu } from "../executor/gpu_node_runner.ts";
import { makeTensor, type Node } from "../graph/types.ts";
import { gpuTest } from "../testing/gpu.ts";
import { seededRandom } from "../testing/random.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { tflQuantize } from "./tfl_quantize.ts";

function node(scale: number, zero: number, rounding: "xnnpack" | "reference"): Node {
  return {
    name: "quantize",
    op: "TflQuantize",
    inputs: ["x"],
    outputs: ["y"],
    attrs: { scale, zero_point: zero, rounding },
  };
}

/** Halfway points k + 1/2 steps (exact in f32 for a power-of-two scale), random values, extremes. */
function inputs(scale: number, seed: number): number[] {
  const rand = seededRandom(seed);
  const values = [0, -0, 1e-30, -1e-30, 1e30, -1e30, 3.4e38, -3.4e38];
  for (let k = -140; k < 140; k++) values.push((k + 0.5) * scale);
  for (let i = 0; i < 500; i++) values.push((rand() - 0.5) * 300 * scale);
  return values;
}

Deno.test("TflQuantize rounds halfway cases to even (xnnpack) or away from zero (reference)", () => {
  const x = makeTensor("f32", [4], [0.5, 1.5, -0.5, -2.5]);
  assert.deepEqual([...tflQuantize.reference(node(1, 0, "xnnpack"), [x])[0].data], [0, 2, 0, -2]);
  assert.deepEqual([...tflQuantize.reference(node(1, 0, "reference"), [x])[0].data], [
    1,
    2,
    -1,
    -3,
  ]);
  // Saturation, and the zero point shifting the range.
  const big = makeTensor("f32", [3], [1000, -1000, 0]);
  assert.deepEqual([...tflQuantize.reference(node(0.5, 100, "reference"), [big])[0].data], [
    127,
    -128,
    100,
  ]);
  // Division and multiplication by the reciprocal differ: 0.0372 * 1.5 rounds differently.
  const s = 0.0372;
  const tie = makeTensor("f32", [1], [Math.fround(1.5 * Math.fround(s))]);
  assert.notDeepEqual(
    tflQuantize.reference(node(s, 0, "xnnpack"), [tie])[0].data,
    tflQuantize.reference(node(s, 0, "reference"), [tie])[0].data,
  );
});

gpuTest(
  "TflQuantize GPU kernel matches the reference in both roundings",
  async ({ gpu, cache }) => {
    for (const [scale, zero] of [[0.25, 3], [0.0372, -128], [1 / 3, 17], [1e-5, 0]]) {
      for (const rounding of ["xnnpack", "reference"] as const) {
        const values = inputs(scale, Math.round(1 / scale));
        const x = makeTensor("f32", [values.length], values);
        const [actual] = await runNodeOnGpu(gpu, node(scale, zero, rounding), [x], cache);
        const [expected] = tflQuantize.reference(node(scale, zero, rounding), [x]);
        assertClose(actual.data, expected.data, TOLERANCES.exact, `scale ${scale} ${rounding}`);
      }
    }
  },
);
