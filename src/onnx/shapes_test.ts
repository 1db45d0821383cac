import assert from "node:assert/strict";
import type { Attributes, Node } from "../graph/types.ts";
import { attr, int64Tensor, modelBytes, type ModelSpec, node, tensorInfo } from "./_test_models.ts";
import { HAS_PYTHON_ONNX, runPython } from "./_test_python.ts";
import { importOnnx } from "./import.ts";
import type { OnnxAttribute } from "./onnx_proto.ts";
import { inferShapes, product, type SymShape } from "./shapes.ts";

function infer(op: string, inputs: (SymShape | undefined)[], attrs: Attributes = {}, outputs = 1) {
  const n: Node = {
    name: "n",
    op,
    inputs: inputs.map((_, i) => `i${i}`),
    outputs: Array.from({ length: outputs }, (_, i) => `o${i}`),
    attrs,
  };
  let fresh = 0;
  return inferShapes(n, inputs, () => `?${++fresh}`);
}

Deno.test("symbols survive where the dim passes through, fresh symbols where it is computed", () => {
  assert.deepEqual(infer("Add", [["N", 1, 3], [4, 1]]), [["N", 4, 3]]);
  assert.deepEqual(infer("Add", [["N"], ["M"]]), [["?1"]]);
  assert.deepEqual(infer("Mul", [["N"], [5]]), [[5]]);
  assert.deepEqual(infer("Flatten", [["N", 3, 4]], { axis: 1 }), [["N", 12]]);
  assert.deepEqual(infer("Flatten", [["N", 3, 4]], { axis: 2 }), [["?1", 4]]);
  assert.deepEqual(infer("Reshape", [["N", 3, 4]], { shape: [0, -1] }), [["N", 12]]);
  assert.deepEqual(infer("Reshape", [["N", 3, 4]], { shape: [-1, 12] }), [["N", 12]]);
  assert.deepEqual(infer("Reshape", [["N", 3, 4]], { shape: [6, -1] }), [[6, "?1"]]);
  assert.deepEqual(
    infer("Conv", [["N", 3, "H", 8], [5, 3, 3, 3]], { pads: [1, 1, 1, 1] }),
    [["N", 5, "?1", 8]],
  );
  assert.deepEqual(infer("Pad", [["N", 3, 4]], { pads: [0, 1, 0, 0, 1, 2] }), [["N", 5, 6]]);
  assert.deepEqual(infer("Slice", [["N", 9]], { starts: [1], ends: [-1], axes: [1] }), [["N", 7]]);
  assert.deepEqual(infer("Squeeze", [["N", 1]]), [undefined]);
  // Without axes, every dim of 1 goes (ONNX 1.12's own inference gives no shape here).
  assert.deepEqual(infer("Squeeze", [[1, 3, 1, 2]]), [[3, 2]]);
  assert.deepEqual(
    infer("QLinearGlobalAveragePool", [["N", 7, 7, 32]], { channels_last: 1 }),
    [["N", 1, 1, 32]],
  );
  assert.deepEqual(infer("Split", [["N", 6]], { axis: 1 }, 3), [["N", 2], ["N", 2], ["N", 2]]);
  assert.deepEqual(infer("NoSuchOp", [[1]]), [undefined]);
  assert.deepEqual(infer("Relu", [undefined]), [undefined]);
});

Deno.test("product keeps a lone symbol, multiplies numbers and gives up on mixtures", () => {
  let fresh = 0;
  const unknown = () => `?${++fresh}`;
  assert.equal(product([2, 3, 4], unknown), 24);
  assert.equal(product([1, "N", 1], unknown), "N");
  assert.equal(product(["N", 0], unknown), 0);
  assert.equal(product(["N", 2], unknown), "?1");
  assert.equal(product([], unknown), 1);
});

/** One single-node case: the ONNX node at `opset`, its input shapes, and its initializers. */
interface Case {
  op: string;
  opset: number;
  inputs: number[][];
  attributes?: OnnxAttribute[];
  constants?: ReturnType<typeof int64Tensor>[];
  outputs?: number;
}

const CASES: Case[] = [
  {
    op: "Conv",
    opset: 11,
    inputs: [[1, 3, 10, 9], [4, 3, 3, 2]],
    attributes: [
      attr.ints("strides", [2, 3]),
      attr.ints("pads", [1, 0, 2, 1]),
      attr.ints("dilations", [1, 2]),
    ],
  },
  {
    op: "Conv",
    opset: 11,
    inputs: [[1, 2, 7, 8], [3, 2, 3, 3]],
    attributes: [attr.string("auto_pad", "SAME_UPPER"), attr.ints("strides", [2, 2])],
  },
  {
    op: "Conv",
    opset: 11,
    inputs: [[2, 2, 7, 8], [3, 2, 3, 2]],
    attributes: [attr.string("auto_pad", "VALID"), attr.ints("strides", [2, 3])],
  },
  {
    op: "Conv",
    opset: 11,
    inputs: [[1, 3, 5, 5], [3, 1, 3, 3]],
    attributes: [attr.int("group", 3)],
  },
  {
    op: "MaxPool",
    opset: 11,
    inputs: [[1, 2, 10, 11]],
    attributes: [
      attr.ints("kernel_shape", [3, 3]),
      attr.ints("strides", [2, 2]),
      attr.int("ceil_mode", 1),
    ],
  },
  {
    op: "AveragePool",
    opset: 11,
    inputs: [[1, 2, 9, 6]],
    attributes: [
      attr.ints("kernel_shape", [3, 2]),
      attr.ints("strides", [2, 2]),
      attr.ints("pads", [1, 1, 1, 0]),
    ],
  },
  { op: "GlobalAveragePool", opset: 11, inputs: [[2, 5, 3, 4]] },
  {
    op: "Gemm",
    opset: 11,
    inputs: [[4, 3], [5, 4]],
    attributes: [attr.int("transA", 1), attr.int("transB", 1)],
  },
  { op: "MatMul", opset: 11, inputs: [[2, 3, 4], [4, 5]] },
  { op: "MatMul", opset: 11, inputs: [[4], [4, 5]] },
  { op: "MatMul", opset: 11, inputs: [[3, 4], [4]] },
  { op: "MatMul", opset: 11, inputs: [[2, 1, 3, 4], [5, 4, 6]] },
  { op: "Flatten", opset: 11, inputs: [[2, 3, 4, 5]], attributes: [attr.int("axis", 0)] },
  { op: "Flatten", opset: 11, inputs: [[2, 3, 4, 5]], attributes: [attr.int("axis", -1)] },
  {
    op: "Reshape",
    opset: 11,
    inputs: [[2, 3, 4]],
    constants: [int64Tensor("c1", [3], [0, -1, 2])],
  },
  {
    op: "Transpose",
    opset: 11,
    inputs: [[2, 3, 4, 5]],
    attributes: [attr.ints("perm", [0, 2, 3, 1])],
  },
  { op: "Transpose", opset: 11, inputs: [[2, 3, 4]] },
  { op: "Concat", opset: 11, inputs: [[2, 3], [2, 4]], attributes: [attr.int("axis", -1)] },
  { op: "Split", opset: 11, inputs: [[6, 4]], outputs: 3 },
  {
    op: "Split",
    opset: 11,
    inputs: [[2, 4]],
    attributes: [attr.int("axis", 1), attr.ints("split", [1, 3])],
    outputs: 2,
  },
  { op: "ReduceMean", opset: 11, inputs: [[2, 3, 4]], attributes: [attr.ints("axes", [1])] },
  {
    op: "ReduceMean",
    opset: 11,
    inputs: [[2, 3, 4]],
    attributes: [attr.ints("axes", [-1, 0]), attr.int("keepdims", 0)],
  },
  { op: "ReduceMean", opset: 11, inputs: [[2, 3, 4]] },
  { op: "Squeeze", opset: 11, inputs: [[1, 3, 1, 2]], attributes: [attr.ints("axes", [-2])] },
  { op: "Unsqueeze", opset: 11, inputs: [[3, 4]], attributes: [attr.ints("axes", [0, -1])] },
  {
    op: "Slice",
    opset: 11,
    inputs: [[10, 8]],
    constants: [
      int64Tensor("c1", [2], [1, -1]),
      int64Tensor("c2", [2], [9, -100]),
      int64Tensor("c3", [2], [0, 1]),
      int64Tensor("c4", [2], [3, -2]),
    ],
  },
  {
    op: "Pad",
    opset: 11,
    inputs: [[1, 2, 3, 4]],
    constants: [int64Tensor("c1", [8], [0, 1, 2, 0, 0, 3, 0, 1])],
  },
  { op: "Add", opset: 11, inputs: [[3, 1, 5], [4, 1]] },
  { op: "Softmax", opset: 13, inputs: [[2, 3, 4]] },
];

function caseModel(c: Case): ModelSpec {
  const inputs = c.inputs.map((shape, i) => tensorInfo(`i${i}`, shape));
  const constants = c.constants ?? [];
  const outputs = Array.from({ length: c.outputs ?? 1 }, (_, i) => `o${i}`);
  return {
    opset: c.opset,
    nodes: [
      node(
        c.op,
        [...inputs.map((i) => i.name), ...constants.map((t) => t.name)],
        outputs,
        c.attributes,
      ),
    ],
    // Weights as graph inputs keep their shapes visible to both sides.
    inputs,
    outputs: outputs.map((o) => ({ name: o, elemType: 1 })),
    initializers: constants,
  };
}

const PYTHON_INFER = `
import json, sys
import onnx
from onnx import shape_inference
out = []
for path in sys.argv[1:]:
    g = shape_inference.infer_shapes(onnx.load(path)).graph
    out.append([[d.dim_value for d in o.type.tensor_type.shape.dim]
                if o.type.tensor_type.HasField("shape") else None for o in g.output])
print(json.dumps(out))
`;

Deno.test({
  name: "output shapes agree with ONNX shape inference on single-node models (needs python3-onnx)",
  ignore: !HAS_PYTHON_ONNX,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const paths = CASES.map((_, i) => `${dir}/case${i}.onnx`);
      CASES.forEach((c, i) => Deno.writeFileSync(paths[i], modelBytes(caseModel(c))));
      const expected: number[][][] = JSON.parse(await runPython(PYTHON_INFER, paths));
      CASES.forEach((c, i) => {
        assert.ok(!expected[i].includes(null!), `ONNX inferred no shape for ${c.op} case ${i}`);
        // The importer normalises the node (constant inputs to attributes) before inference.
        const spec = caseModel(c);
        spec.outputs = expected[i].map((shape, j) => tensorInfo(`o${j}`, shape));
        const { graph } = importOnnx(modelBytes(spec));
        const inputShapes = graph.nodes[0].inputs.map((name) => c.inputs[Number(name.slice(1))]);
        const actual = inferShapes(graph.nodes[0], inputShapes, () => "?");
        assert.deepEqual(actual, expected[i], `${c.op} case ${i}`);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
