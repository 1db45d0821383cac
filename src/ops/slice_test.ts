import assert from "node:assert/strict";
import { runNodeOnGpu } from "../executor/gpu_node_runner.ts";
import type { DType, Node } from "../graph/types.ts";
import { int64Tensor, modelBytes, node, tensorInfo } from "../onnx/_test_models.ts";
import { importOnnx } from "../onnx/import.ts";
import { onnxDataTypeOf } from "../onnx/tensor.ts";
import { gpuTest } from "../testing/gpu.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { runOrtModel } from "./_int8_testing.ts";
import { slice, sliceRange } from "./slice.ts";

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/** One Slice: input dtype and shape, and the ONNX operands (int64, as a model holds them). */
interface SliceCase {
  dtype: DType;
  shape: number[];
  starts: (number | bigint)[];
  ends: (number | bigint)[];
  axes?: number[];
  steps?: number[];
}

const CASES: SliceCase[] = [
  { dtype: "f32", shape: [5, 7], starts: [1, -5], ends: [4, 100] },
  // The option-A shortcut of the CIFAR ResNets: every 2nd row and column.
  {
    dtype: "f32",
    shape: [2, 3, 9, 8],
    starts: [0, 0],
    ends: [INT64_MAX, INT64_MAX],
    axes: [2, 3],
    steps: [2, 2],
  },
  { dtype: "f32", shape: [4, 9, 6], starts: [-1], ends: [INT64_MIN], axes: [1], steps: [-2] },
  {
    dtype: "f32",
    shape: [2, 3, 5, 7],
    starts: [1, 10, -3],
    ends: [-100, 0, 7],
    axes: [-1, 2, 0],
    steps: [-1, -2, 1],
  },
  { dtype: "f32", shape: [3, 4, 5], starts: [-2, 1], ends: [-1, 3], axes: [-3, -1] },
  { dtype: "f32", shape: [6, 5], starts: [7], ends: [-9], axes: [0], steps: [-3] },
  // A start before the dim with a negative step clamps to 0 (not to -1 as in Python).
  { dtype: "f32", shape: [6, 5], starts: [-100], ends: [-200], axes: [0], steps: [-1] },
  { dtype: "i32", shape: [3, 11], starts: [2], ends: [-1], axes: [1], steps: [3] },
  { dtype: "i32", shape: [2, 5, 3], starts: [4, 0], ends: [0, 2], axes: [1, 0], steps: [-1, 1] },
];

/** The one-node ONNX model of `c`, with the operands as int64 initializers. */
function sliceModel(c: SliceCase): Uint8Array {
  const operands = [
    int64Tensor("starts", [c.starts.length], c.starts),
    int64Tensor("ends", [c.ends.length], c.ends),
    ...(c.axes ? [int64Tensor("axes", [c.axes.length], c.axes)] : []),
    ...(c.steps ? [int64Tensor("steps", [c.steps.length], c.steps)] : []),
  ];
  const inputs = ["x", "starts", "ends", c.axes ? "axes" : "", c.steps ? "steps" : ""];
  while (inputs.at(-1) === "") inputs.pop();
  return modelBytes({
    nodes: [node("Slice", inputs, ["y"])],
    inputs: [tensorInfo("x", c.shape, onnxDataTypeOf(c.dtype))],
    outputs: [tensorInfo("y", c.shape.map(() => undefined), onnxDataTypeOf(c.dtype))],
    initializers: operands,
  });
}

/** The resin node the importer makes of `c`. */
function importedNode(c: SliceCase): Node {
  const { graph } = importOnnx(sliceModel(c));
  assert.equal(graph.nodes.length, 1);
  return graph.nodes[0];
}

function sliceNode(attrs: Node["attrs"]): Node {
  return { name: "s0", op: "Slice", inputs: ["x"], outputs: ["y"], attrs };
}

Deno.test("sliceRange follows the opset-13 clamping for both step signs", () => {
  // Python's slice.indices clamps the same way (these are its results) except for a start
  // before the dim with a negative step: ONNX clamps it to 0 (onnxruntime agrees, see below).
  assert.deepEqual(sliceRange(10, 2, 8, 3), { start: 2, count: 2 });
  assert.deepEqual(sliceRange(10, -3, 100, 1), { start: 7, count: 3 });
  assert.deepEqual(sliceRange(10, 100, -100, -1), { start: 9, count: 10 });
  assert.deepEqual(sliceRange(10, -1, -2147483648, -4), { start: 9, count: 3 });
  assert.deepEqual(sliceRange(10, -100, -200, -1), { start: 0, count: 1 });
  assert.deepEqual(sliceRange(10, 5, 5, 1).count, 0);
  assert.deepEqual(sliceRange(10, 3, 7, -1).count, 0);
  assert.deepEqual(sliceRange(0, 0, 1, 1).count, 0);
  assert.deepEqual(sliceRange(0, -1, -5, -1).count, 0);
});

Deno.test("Slice reference matches onnxruntime on the imported node (f32 and i32)", async () => {
  for (const [k, c] of CASES.entries()) {
    const x = randomTensor(seededRandom(10 + k), c.dtype, c.shape, -1000, 1000);
    const { y: expected } = await runOrtModel(sliceModel(c), { x });
    const [actual] = slice.reference(importedNode(c), [x]);
    const what = `Slice case ${k} [${c.shape}]`;
    assert.deepEqual(actual.shape, expected.shape, what);
    assertClose(actual.data, expected.data, TOLERANCES.exact, what);
  }
});

Deno.test("Slice CPU kernel equals the reference on every case and an empty range", () => {
  const empty: SliceCase = { dtype: "f32", shape: [4, 6], starts: [5], ends: [2], axes: [0] };
  for (const [k, c] of [...CASES, empty].entries()) {
    const x = randomTensor(seededRandom(40 + k), c.dtype, c.shape, -1000, 1000);
    const [expected] = slice.reference(importedNode(c), [x]);
    const [actual] = slice.cpu!(importedNode(c), [x]);
    assert.deepEqual(actual.shape, expected.shape, `case ${k}`);
    assertClose(actual.data, expected.data, TOLERANCES.exact, `Slice case ${k} [${c.shape}]`);
  }
});

Deno.test("Slice reference returns an empty tensor for an empty range, as onnxruntime", async () => {
  const c: SliceCase = { dtype: "f32", shape: [4, 6], starts: [5], ends: [2], axes: [0] };
  const x = randomTensor(seededRandom(3), "f32", c.shape);
  const { y: expected } = await runOrtModel(sliceModel(c), { x });
  const [actual] = slice.reference(importedNode(c), [x]);
  assert.deepEqual(expected.shape, [0, 6]);
  assert.deepEqual(actual.shape, expected.shape);
});

Deno.test("Slice inferTypes rejects malformed operands, naming the node and value", () => {
  const x = { dtype: "f32" as const, shape: [4, 5] };
  const cases: [Node["attrs"], RegExp][] = [
    [{ starts: [0], ends: [1], steps: [0] }, /Slice "s0": steps \[0\] must be 1 non-zero/],
    [{ starts: [0, 1], ends: [1] }, /starts \[0,1\], ends \[1\] and axes \[0,1\] must have/],
    [{ starts: [0], ends: [1], axes: [2] }, /axes\[0\] 2 is out of range for rank 2/],
    [{ starts: [0, 0], ends: [1, 1], axes: [1, -1] }, /axes \[1,-1\] name dim 1 more than once/],
    [{ ends: [1] }, /required attribute starts is missing/],
  ];
  for (const [attrs, error] of cases) {
    assert.throws(() => slice.inferTypes(sliceNode(attrs), [x]), error);
  }
  assert.throws(
    () => slice.inferTypes(sliceNode({ starts: [0], ends: [1] }), [{ dtype: "u8", shape: [4] }]),
    /input 0 must be f32 or i32, got u8/,
  );
});

gpuTest("Slice GPU kernel matches the reference (f32 and i32, every case)", async (env) => {
  const gpuCases: SliceCase[] = [
    ...CASES,
    { dtype: "f32", shape: [1], starts: [0], ends: [1] },
    { dtype: "f32", shape: [3, 64, 33, 31], starts: [1, 3], ends: [40, -2], axes: [1, 3] },
    {
      dtype: "i32",
      shape: [2, 3, 4, 5, 6],
      starts: [-1, -1, -1, -1, -1],
      ends: [INT64_MIN, INT64_MIN, INT64_MIN, INT64_MIN, INT64_MIN],
      steps: [-1, -1, -1, -1, -1],
    },
  ];
  for (const [k, c] of gpuCases.entries()) {
    const x = randomTensor(seededRandom(40 + k), c.dtype, c.shape, -1000, 1000);
    const n = importedNode(c);
    const [actual] = await runNodeOnGpu(env.gpu, n, [x], env.cache);
    const [expected] = slice.reference(n, [x]);
    const what = `Slice GPU case ${k} ${c.dtype} [${c.shape}]`;
    assert.deepEqual(actual.shape, expected.shape, what);
    assertClose(actual.data, expected.data, TOLERANCES.exact, what);
  }
});
