import assert from "node:assert/strict";
import { runNodeOnGpu } from "../executor/gpu_node_runner.ts";
import type { Attributes, Node } from "../graph/types.ts";
import { gpuTest } from "../testing/gpu.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { reduceMean } from "./reduce_mean.ts";

function meanNode(attrs: Attributes): Node {
  return { name: "mean0", op: "ReduceMean", inputs: ["x"], outputs: ["y"], attrs };
}

Deno.test("ReduceMean reference over non-adjacent axes matches explicit loops", () => {
  const x = randomTensor(seededRandom(7), "f32", [2, 3, 4]);
  const [y] = reduceMean.reference(meanNode({ axes: [0, -1], keepdims: 0 }), [x]);
  assert.deepEqual(y.shape, [3]);
  const expected = [0, 1, 2].map((b) => {
    let sum = 0;
    for (let a = 0; a < 2; a++) for (let c = 0; c < 4; c++) sum += x.data[(a * 3 + b) * 4 + c];
    return sum / 8;
  });
  assertClose(y.data, expected, TOLERANCES.f32Kernel);
});

Deno.test("ReduceMean reference defaults to all axes with keepdims", () => {
  const x = randomTensor(seededRandom(8), "f32", [3, 5]);
  const [y] = reduceMean.reference(meanNode({}), [x]);
  assert.deepEqual(y.shape, [1, 1]);
  assertClose(y.data, [[...x.data].reduce((a, b) => a + b, 0) / 15], TOLERANCES.f32Kernel);
});

Deno.test("ReduceMean inferTypes rejects bad axes and keepdims", () => {
  const x = { dtype: "f32" as const, shape: [2, 3, 4] };
  const infer = (attrs: Attributes) => () => reduceMean.inferTypes(meanNode(attrs), [x]);
  assert.throws(infer({ axes: [1, -2] }), /ReduceMean "mean0": axes \[1,-2\] repeat an axis/);
  assert.throws(infer({ axes: [3] }), /axes\[0\] 3 is out of range for rank 3/);
  assert.throws(infer({ keepdims: 2 }), /keepdims must be 0 or 1, got 2/);
});

gpuTest("ReduceMean GPU kernel matches the reference for any axis set", async (env) => {
  const cases: [number[], Attributes][] = [
    [[1], {}],
    [[3, 7], { axes: [1] }],
    [[3, 7], { axes: [0], keepdims: 0 }],
    [[2, 3, 4, 5], { axes: [0, 2] }],
    [[2, 17, 5, 3], { axes: [-1, -2], keepdims: 0 }],
    [[1, 64, 56, 56], { axes: [2, 3] }],
    [[64, 1000], {}],
    [[5, 300, 7], { axes: [1] }],
  ];
  // As a GPU (tree reductions) and as a CPU-like adapter (serial sums up to 1024 elements).
  for (const isFallbackAdapter of [false, true]) {
    for (const [i, [shape, attrs]] of cases.entries()) {
      const x = randomTensor(seededRandom(110 + i), "f32", shape);
      const node = meanNode(attrs);
      const device = { ...env.gpu, isFallbackAdapter };
      const [actual] = await runNodeOnGpu(device, node, [x], env.cache);
      const [expected] = reduceMean.reference(node, [x]);
      assert.deepEqual(actual.shape, expected.shape);
      const label = `ReduceMean case ${i}, CPU-like adapter ${isFallbackAdapter}`;
      assertClose(actual.data, expected.data, TOLERANCES.f32Kernel, label);
    }
  }
});
