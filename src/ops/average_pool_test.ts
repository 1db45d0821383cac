import assert from "node:assert/strict";
import { runNodeOnGpu } from "../executor/gpu_node_runner.ts";
import { type Attributes, makeTensor, type Node } from "../graph/types.ts";
import { gpuTest } from "../testing/gpu.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { averagePool } from "./average_pool.ts";

function poolNode(attrs: Attributes): Node {
  return { name: "avg0", op: "AveragePool", inputs: ["x"], outputs: ["y"], attrs };
}

/** The 3x3 ramp 0..8 as one NCHW plane. */
const ramp3 = makeTensor("f32", [1, 1, 3, 3], [0, 1, 2, 3, 4, 5, 6, 7, 8]);

Deno.test("AveragePool reference with pads: in-bounds count vs count_include_pad", () => {
  const attrs = { kernel_shape: [3, 3], pads: [1, 1, 1, 1] };
  const [exclude] = averagePool.reference(poolNode(attrs), [ramp3]);
  const [include] = averagePool.reference(poolNode({ ...attrs, count_include_pad: 1 }), [ramp3]);
  // Corner windows hold {0,1,3,4}, {1,2,4,5}, ...; edge windows 6 elements; the centre all 9.
  const sums = [8, 15, 12, 21, 36, 27, 20, 33, 24];
  const inBounds = [4, 6, 4, 6, 9, 6, 4, 6, 4];
  assertClose(exclude.data, sums.map((s, i) => s / inBounds[i]), TOLERANCES.f32Kernel);
  assertClose(include.data, sums.map((s) => s / 9), TOLERANCES.f32Kernel);
});

Deno.test("AveragePool count_include_pad never counts the ceil_mode overhang", () => {
  // 1x5 row, kernel 1x2, stride 2, right pad 0, ceil_mode: windows {0,1}, {2,3}, {4, overhang}.
  const x = makeTensor("f32", [1, 1, 1, 5], [1, 2, 3, 4, 5]);
  const node = poolNode({
    kernel_shape: [1, 2],
    strides: [1, 2],
    ceil_mode: 1,
    count_include_pad: 1,
  });
  assertClose(averagePool.reference(node, [x])[0].data, [1.5, 3.5, 5], TOLERANCES.f32Kernel);
});

Deno.test("AveragePool inferTypes rejects dilations and bad count_include_pad", () => {
  const x = { dtype: "f32" as const, shape: [1, 1, 4, 4] };
  assert.throws(
    () => averagePool.inferTypes(poolNode({ kernel_shape: [2, 2], dilations: [2, 2] }), [x]),
    /AveragePool "avg0": dilations are not supported, got \[2,2\]/,
  );
  assert.throws(
    () => averagePool.inferTypes(poolNode({ kernel_shape: [2, 2], count_include_pad: 2 }), [x]),
    /count_include_pad must be 0 or 1, got 2/,
  );
  assert.throws(
    () => averagePool.inferTypes(poolNode({ kernel_shape: [2, 2] }), [{ ...x, dtype: "u8" }]),
    /input 0 must be f32, got u8/,
  );
});

const CASES: [number[], Attributes][] = [
  [[1, 1, 1, 1], { kernel_shape: [1, 1] }],
  [[1, 3, 7, 7], { kernel_shape: [7, 7] }],
  [[2, 7, 9, 8], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }],
  [[1, 17, 6, 7], { kernel_shape: [2, 3], strides: [2, 1], pads: [0, 1, 1, 0], ceil_mode: 1 }],
  [[1, 3, 8, 7], { kernel_shape: [3, 2], strides: [2, 2], auto_pad: "SAME_UPPER" }],
  [[1, 64, 56, 56], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }],
];

gpuTest(
  "AveragePool GPU kernel matches the reference, with and without padding counted",
  async (env) => {
    for (const include of [0, 1]) {
      for (const [i, [shape, attrs]] of CASES.entries()) {
        const node = poolNode({ ...attrs, count_include_pad: include });
        const x = randomTensor(seededRandom(40 + i), "f32", shape);
        const [actual] = await runNodeOnGpu(env.gpu, node, [x], env.cache);
        const [expected] = averagePool.reference(node, [x]);
        assert.deepEqual(actual.shape, expected.shape);
        assertClose(
          actual.data,
          expected.data,
          TOLERANCES.f32Kernel,
          `AveragePool ${include} case ${i}`,
        );
      }
    }
  },
);
