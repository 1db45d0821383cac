import assert from "node:assert/strict";
import { runNodeOnGpu } from "../executor/gpu_node_runner.ts";
import { makeTensor, type Node } from "../graph/types.ts";
import { gpuTest } from "../testing/gpu.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { randomInts } from "./_tfl_testing.ts";
import { softmaxTable } from "./tfl_math.ts";
import { tflSoftmax } from "./tfl_softmax.ts";

const node: Node = {
  name: "softmax",
  op: "TflSoftmax",
  inputs: ["x", "t"],
  outputs: ["y"],
  attrs: { y_scale: 1 / 256, y_zero_point: -128 },
};

/** Rows of `classes` logits: random, all equal, one dominant, and two tied maxima. */
function logits(rows: number, classes: number, seed: number): number[] {
  const values = randomInts(seed, rows * classes);
  values.fill(9, 0, classes);
  values.fill(-128, classes, 2 * classes);
  values[classes] = 127;
  if (classes > 1) values[2 * classes] = values[2 * classes + 1] = 100;
  return values;
}

Deno.test("TflSoftmax reference is the float softmax quantized to 1/256, within one step", () => {
  for (const inputScale of [0.17185351, 0.05, 0.4]) {
    const table = makeTensor("f32", [256], softmaxTable(inputScale, 1));
    const x = makeTensor("i8", [6, 10], logits(6, 10, 1));
    const [y] = tflSoftmax.reference(node, [x, table]);
    for (let r = 0; r < 6; r++) {
      const row = [...x.data.subarray(10 * r, 10 * r + 10)];
      const exps = row.map((v) => Math.exp(inputScale * (v - Math.max(...row))));
      const sum = exps.reduce((a, b) => a + b);
      exps.forEach((e, j) => {
        const ideal = Math.min(127, 256 * (e / sum) - 128);
        assert.ok(Math.abs(y.data[10 * r + j] - ideal) <= 1, `scale ${inputScale} [${r}, ${j}]`);
      });
    }
  }
});

gpuTest("TflSoftmax GPU kernel matches the reference", async ({ gpu, cache }) => {
  for (const [rows, classes] of [[6, 10], [3, 1], [4, 7], [3, 1001]]) {
    const table = makeTensor("f32", [256], softmaxTable(0.11 * classes ** 0.1, 1));
    const x = makeTensor("i8", [rows, classes], logits(rows, classes, classes));
    const [actual] = await runNodeOnGpu(gpu, node, [x, table], cache);
    const [expected] = tflSoftmax.reference(node, [x, table]);
    assertClose(actual.data, expected.data, TOLERANCES.exact, `[${rows}, ${classes}]`);
  }
});
