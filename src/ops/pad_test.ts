import assert from "node:assert/strict";
import { runNodeOnGpu } from "../executor/gpu_node_runner.ts";
import { type DType, makeTensor, type Node } from "../graph/types.ts";
import { attr, int64Tensor, modelBytes, node, tensorInfo } from "../onnx/_test_models.ts";
import { importOnnx } from "../onnx/import.ts";
import { onnxDataTypeOf } from "../onnx/tensor.ts";
import { gpuTest } from "../testing/gpu.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { onnxTensor, runOrtModel } from "./_int8_testing.ts";
import { collapsePadAxes, pad, type PadAxis, type PadMode, padSourceIndex } from "./pad.ts";

/** One Pad: input dtype and shape, ONNX pads, mode and constant value. */
interface PadCase {
  dtype: DType;
  shape: number[];
  pads: number[];
  mode?: PadMode;
  value?: number;
}

const CASES: PadCase[] = [
  // The option-A shortcut of the CIFAR ResNets: zero channels on both sides.
  { dtype: "f32", shape: [2, 3, 5, 4], pads: [0, 8, 0, 0, 0, 8, 0, 0] },
  { dtype: "f32", shape: [3, 5], pads: [1, 2, 3, 4], value: 1.5 },
  { dtype: "f32", shape: [4, 7], pads: [-1, 2, -2, 3], value: -2.25 },
  // Dim 1 loses its only element and gains one: all fill.
  { dtype: "f32", shape: [3, 1, 4], pads: [0, -1, 1, 0, 1, 0], value: 4 },
  { dtype: "f32", shape: [2, 5, 6], pads: [0, 2, 1, 1, 3, 2], mode: "reflect" },
  { dtype: "f32", shape: [3, 4, 5], pads: [1, -1, 2, 0, 2, -2], mode: "reflect" },
  { dtype: "f32", shape: [2, 5, 6], pads: [1, -1, 2, 0, 3, -2], mode: "edge" },
  { dtype: "f32", shape: [1, 3, 1, 2], pads: [0, 0, 3, 4, 2, 1, 2, 5], mode: "edge" },
  { dtype: "i32", shape: [3, 4], pads: [1, 1, 2, 2], value: 7 },
  { dtype: "i32", shape: [3, 4], pads: [2, 0, 1, 3], mode: "reflect" },
  { dtype: "i32", shape: [3, 1, 4], pads: [0, 2, 1, 1, 3, 0], mode: "edge" },
];

/** The one-node ONNX model of `c`: pads (and the value, if any) as initializers. */
function padModel(c: PadCase): Uint8Array {
  const value = c.value === undefined
    ? []
    : [onnxTensor("value", makeTensor(c.dtype, [], [c.value]))];
  return modelBytes({
    nodes: [
      node(
        "Pad",
        ["x", "pads", ...(value.length ? ["value"] : [])],
        ["y"],
        c.mode ? [attr.string("mode", c.mode)] : [],
      ),
    ],
    inputs: [tensorInfo("x", c.shape, onnxDataTypeOf(c.dtype))],
    outputs: [tensorInfo("y", c.shape.map(() => undefined), onnxDataTypeOf(c.dtype))],
    initializers: [int64Tensor("pads", [c.pads.length], c.pads), ...value],
  });
}

/** The resin node the importer makes of `c`. */
function importedNode(c: PadCase): Node {
  const { graph } = importOnnx(padModel(c));
  assert.equal(graph.nodes.length, 1);
  return graph.nodes[0];
}

function padNode(attrs: Node["attrs"]): Node {
  return { name: "p0", op: "Pad", inputs: ["x"], outputs: ["y"], attrs };
}

Deno.test("Pad reference matches onnxruntime on the imported node (every mode, f32, i32)", async () => {
  for (const [k, c] of CASES.entries()) {
    const x = randomTensor(seededRandom(20 + k), c.dtype, c.shape, -1000, 1000);
    const { y: expected } = await runOrtModel(padModel(c), { x });
    const [actual] = pad.reference(importedNode(c), [x]);
    const what = `Pad case ${k} ${c.mode ?? "constant"} ${c.dtype} [${c.shape}]`;
    assert.deepEqual(actual.shape, expected.shape, what);
    assertClose(actual.data, expected.data, TOLERANCES.exact, what);
  }
});

Deno.test("padSourceIndex reflects like numpy's pad for pads longer than the dim", () => {
  // np.pad([1, 2, 3], 5, "reflect") = [2 1 2 3 2 1 2 3 2 1 2 3 2] and
  // np.pad([7], 2, "reflect") = [7 7 7 7 7], as indices into the input.
  const indices = (n: number, before: number, length: number) =>
    Array.from({ length }, (_, o) => padSourceIndex("reflect", o - before, n));
  assert.deepEqual(indices(3, 5, 13), [1, 0, 1, 2, 1, 0, 1, 2, 1, 0, 1, 2, 1]);
  assert.deepEqual(indices(1, 2, 5), [0, 0, 0, 0, 0]);
});

Deno.test("collapsePadAxes merges dims that add nothing only where the mapping is kept", () => {
  const axis = (out: number, kept: number, before: number, stride: number): PadAxis => ({
    out,
    kept,
    before,
    stride,
  });
  // NCHW [2, 16, 8, 8] channel pad 8 + 8: H and W merge into C; N stays, as C is padded.
  const nchw = [axis(2, 2, 0, 1024), axis(32, 16, 8, 64), axis(8, 8, 0, 8), axis(8, 8, 0, 1)];
  assert.deepEqual(collapsePadAxes("constant", nchw), [
    axis(2, 2, 0, 1024),
    axis(32 * 64, 16 * 64, 8 * 64, 1),
  ]);
  // Edge mode: the unpadded dim right after the padded one keeps its own coordinate; the
  // leading dim of length 1 is dropped.
  const edge = [axis(1, 1, 0, 60), axis(5, 3, 1, 20), axis(4, 4, 0, 5), axis(5, 5, 0, 1)];
  assert.deepEqual(collapsePadAxes("edge", edge), [axis(5, 3, 1, 20), axis(20, 20, 0, 1)]);
  // A cropped dim is not contiguous with the dim before it.
  const cropped = [axis(4, 4, 0, 6), axis(3, 3, 0, 1)];
  assert.deepEqual(collapsePadAxes("constant", cropped), cropped);
});

Deno.test("Pad inferTypes rejects malformed pads, modes and values", () => {
  const x = { dtype: "f32" as const, shape: [4, 5] };
  const cases: [Node["attrs"], RegExp, typeof x?][] = [
    [{ pads: [1, 1, 1] }, /Pad "p0": pads \[1,1,1\] must have 4 entries .* for input \[4,5\]/],
    [{ pads: [-3, 0, -2, 0] }, /pads \[-3,0,-2,0\] remove more than the 4 elements of dim 0/],
    [{ pads: [0, 1, 0, 1], mode: "wrap" }, /attribute mode must be one of constant, reflect, edge/],
    [{ pads: [0, 1, 0, 1], value: 0.5 }, /value 0.5 is not an int32 for an i32 input/, {
      dtype: "i32" as never,
      shape: [4, 5],
    }],
    [
      { pads: [0, 1, 0, 0], mode: "edge" },
      /edge mode cannot pad dim 1: it keeps no element to repeat/,
      {
        dtype: "f32",
        shape: [4, 0],
      },
    ],
  ];
  for (const [attrs, error, input] of cases) {
    assert.throws(() => pad.inferTypes(padNode(attrs), [input ?? x]), error);
  }
});

gpuTest("Pad GPU kernels match the reference (every mode, f32 and i32)", async (env) => {
  const gpuCases: PadCase[] = [
    ...CASES,
    { dtype: "f32", shape: [1], pads: [0, 3], value: -1 },
    { dtype: "f32", shape: [3], pads: [7, 6], mode: "reflect" },
    { dtype: "f32", shape: [4, 9], pads: [-1, 5, 2, -3], mode: "reflect" },
    { dtype: "i32", shape: [3, 5, 7, 2], pads: [-1, 0, -2, 0, 0, 0, -3, 0], value: -9 },
    { dtype: "f32", shape: [3, 17, 9, 11], pads: [0, 8, 0, 1, 0, 8, 2, 0], mode: "constant" },
    { dtype: "f32", shape: [2, 3, 9, 11], pads: [0, 0, 2, 3, 0, 0, 4, 1], mode: "reflect" },
    { dtype: "i32", shape: [2, 3, 4, 5, 3], pads: [1, 0, 2, 0, 1, 0, 1, 0, 3, 2], mode: "edge" },
  ];
  for (const [k, c] of gpuCases.entries()) {
    const x = randomTensor(seededRandom(60 + k), c.dtype, c.shape, -1000, 1000);
    const n = importedNode(c);
    const [actual] = await runNodeOnGpu(env.gpu, n, [x], env.cache);
    const [expected] = pad.reference(n, [x]);
    const what = `Pad GPU case ${k} ${c.mode ?? "constant"} ${c.dtype} [${c.shape}]`;
    assert.deepEqual(actual.shape, expected.shape, what);
    assertClose(actual.data, expected.data, TOLERANCES.exact, what);
  }
});
