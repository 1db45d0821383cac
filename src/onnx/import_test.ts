import assert from "node:assert/strict";
import { runReference } from "../executor/reference.ts";
import type { Graph, Node } from "../graph/types.ts";
import { hasOp } from "../ops/registry.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { assertClose } from "../testing/tolerance.ts";
import {
  attr,
  floatTensor,
  int64Tensor,
  modelBytes,
  type ModelSpec,
  node,
  tensorInfo,
} from "./_test_models.ts";
import { importOnnx, OnnxImportError } from "./import.ts";
import { DATA_TYPE } from "./onnx_proto.ts";

function imported(spec: ModelSpec): Graph {
  return importOnnx(modelBytes(spec)).graph;
}

/** The one-line message of the OnnxImportError that importing `bytes` throws. */
function importError(bytes: Uint8Array): string {
  try {
    importOnnx(bytes);
  } catch (err) {
    assert.ok(err instanceof OnnxImportError, `expected OnnxImportError, got ${err}`);
    assert.ok(!err.message.includes("\n"), `multi-line error: ${err.message}`);
    return err.message;
  }
  throw new Error("import succeeded");
}

/** Nodes without their names, for structural comparisons. */
function shapes(graph: Graph): Omit<Node, "name">[] {
  return graph.nodes.map(({ op, inputs, outputs, attrs }) => ({ op, inputs, outputs, attrs }));
}

const X4 = tensorInfo("x", ["N", 3, 4, 5]);

Deno.test("a small conv net imports with its value infos, attributes and weights", () => {
  const w = Array.from({ length: 2 * 3 * 3 * 3 }, (_, i) => i / 7 - 1);
  const result = importOnnx(modelBytes({
    nodes: [
      node("Conv", ["x", "w", "b"], ["c"], [
        attr.ints("kernel_shape", [3, 3]),
        attr.ints("pads", [1, 1, 1, 1]),
        attr.ints("strides", [1, 1]),
        attr.string("auto_pad", "NOTSET"),
        attr.int("group", 1),
      ]),
      node("Relu", ["c"], ["r"]),
      node("GlobalAveragePool", ["r"], ["p"]),
      node("Flatten", ["p"], ["y"], [attr.int("axis", 1)]),
    ],
    inputs: [tensorInfo("x", ["N", 3, 8, undefined])],
    outputs: [tensorInfo("y", ["N", 2])],
    initializers: [floatTensor("w", [2, 3, 3, 3], w), floatTensor("b", [2], [0.5, -0.5])],
    opset: 11,
  }));
  assert.equal(result.opset, 11);
  assert.equal(result.producer, "resin-test 1");
  assert.equal(result.irVersion, 7);
  const { graph } = result;
  assert.equal(graph.name, "test");
  assert.deepEqual(graph.inputs, [{
    name: "x",
    dtype: "f32",
    shape: ["N", 3, 8, "?"],
    layout: "NCHW",
  }]);
  assert.deepEqual(graph.outputs, [{ name: "y", dtype: "f32", shape: ["N", 2], layout: "NC" }]);
  assert.deepEqual(graph.nodes[0], {
    name: "c",
    op: "Conv",
    inputs: ["x", "w", "b"],
    outputs: ["c"],
    attrs: {
      kernel_shape: [3, 3],
      pads: [1, 1, 1, 1],
      strides: [1, 1],
      auto_pad: "NOTSET",
      group: 1,
    },
  });
  assert.deepEqual(graph.nodes.map((n) => n.op), ["Conv", "Relu", "GlobalAveragePool", "Flatten"]);
  assert.deepEqual([...graph.initializers.keys()], ["w", "b"]);
  assert.deepEqual(Array.from(graph.initializers.get("w")!.data), w.map(Math.fround));
  assert.equal(
    importOnnx(modelBytes({ nodes: [], inputs: [], outputs: [] }), { name: "m" }).graph.name,
    "m",
  );
});

Deno.test("initializers an IR 3 file also lists as inputs are weights, not inputs", () => {
  const graph = imported({
    irVersion: 3,
    opset: 7,
    nodes: [node("Add", ["x", "w"], ["y"])],
    inputs: [tensorInfo("x", [2]), tensorInfo("w", [2])],
    outputs: [tensorInfo("y", [2])],
    initializers: [floatTensor("w", [2], [1, 2])],
  });
  assert.deepEqual(graph.inputs.map((i) => i.name), ["x"]);
  assert.deepEqual([...graph.initializers.keys()], ["w"]);
});

Deno.test("layouts: NCHW for 4-D f32, NHWC for u8 with 3 channels last, NC for 2-D", () => {
  const graph = imported({
    nodes: [node("Relu", ["a"], ["b"])],
    inputs: [tensorInfo("a", [1, 8, 8, 3], DATA_TYPE.UINT8), tensorInfo("c", [2, 3, 4])],
    outputs: [tensorInfo("b", [1, 8, 8, 3], DATA_TYPE.UINT8)],
  });
  assert.deepEqual(graph.inputs.map((i) => i.layout), ["NHWC", undefined]);
  assert.equal(graph.outputs[0].layout, "NHWC");
});

Deno.test("BatchNormalization drops legacy attributes and unused training outputs", () => {
  const bn = (opset: number, attrs: ReturnType<typeof attr.int>[], outputs = ["y"]) =>
    imported({
      opset,
      nodes: [node("BatchNormalization", ["x", "s", "b", "m", "v"], outputs, [
        attr.float("epsilon", 0.001),
        attr.float("momentum", 0.9),
        ...attrs,
      ])],
      inputs: [X4],
      outputs: [tensorInfo("y", ["N", 3, 4, 5])],
      initializers: ["s", "b", "m", "v"].map((n) => floatTensor(n, [3], [1, 2, 3])),
    }).nodes;
  const expected = [{
    name: "y",
    op: "BatchNormalization",
    inputs: ["x", "s", "b", "m", "v"],
    outputs: ["y"],
    attrs: { epsilon: Math.fround(0.001) },
  }];
  assert.deepEqual(
    bn(5, [attr.ints("consumed_inputs", [0, 0, 0, 1, 1]), attr.int("is_test", 1)]),
    expected,
  );
  assert.deepEqual(
    bn(6, [attr.int("spatial", 1), attr.int("is_test", 1)], ["y", "", ""]),
    expected,
  );
  assert.deepEqual(bn(9, [], ["y", "mean_out", "var_out"]), expected);
  assert.deepEqual(bn(15, [attr.int("training_mode", 0)]), expected);
  assert.throws(
    () => bn(7, [attr.int("spatial", 0)]),
    /Node "y" \(BatchNormalization\): spatial=0 is not/,
  );
  assert.throws(() => bn(15, [attr.int("training_mode", 1)]), /training_mode=1 is not supported/);
  assert.throws(() => bn(9, [attr.int("spatial", 1)]), /unexpected attribute "spatial"/);
});

Deno.test("a BatchNormalization whose running-mean output is read fails", () => {
  const message = importError(modelBytes({
    opset: 9,
    nodes: [
      node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y", "mean_out"]),
      node("Relu", ["mean_out"], ["z"]),
    ],
    inputs: [X4],
    outputs: [tensorInfo("y", ["N", 3, 4, 5]), tensorInfo("z", [3])],
    initializers: ["s", "b", "m", "v"].map((n) => floatTensor(n, [3], [1, 2, 3])),
  }));
  assert.equal(
    message,
    'Node "y" (BatchNormalization): its training statistics output "mean_out" is used; resin ' +
      "computes only the main output",
  );
});

function softmaxModel(opset: number, shape: (number | string)[], axis?: number): ModelSpec {
  return {
    opset,
    nodes: [node("Softmax", ["x"], ["y"], axis === undefined ? [] : [attr.int("axis", axis)])],
    inputs: [tensorInfo("x", shape)],
    outputs: [tensorInfo("y", shape)],
  };
}

Deno.test("pre-13 Softmax keeps one node when its axis is the last, else flattens around it", () => {
  assert.deepEqual(shapes(imported(softmaxModel(11, ["N", 7], -1))), [
    { op: "Softmax", inputs: ["x"], outputs: ["y"], attrs: { axis: 1 } },
  ]);
  assert.deepEqual(shapes(imported(softmaxModel(9, ["N", 7]))), [
    { op: "Softmax", inputs: ["x"], outputs: ["y"], attrs: { axis: 1 } },
  ]);
  assert.deepEqual(shapes(imported(softmaxModel(13, ["N", 3, 4]))), [
    { op: "Softmax", inputs: ["x"], outputs: ["y"], attrs: { axis: -1 } },
  ]);
  const graph = imported(softmaxModel(11, ["N", 3, 4]));
  assert.deepEqual(shapes(graph), [
    { op: "Flatten", inputs: ["x"], outputs: ["y_flat"], attrs: { axis: 1 } },
    { op: "Softmax", inputs: ["y_flat"], outputs: ["y_softmax2d"], attrs: { axis: 1 } },
    { op: "Reshape", inputs: ["y_softmax2d"], outputs: ["y"], attrs: { shape: [0, 3, 4] } },
  ]);
  assert.deepEqual(graph.nodes.map((n) => n.name), ["y_flatten", "y", "y_reshape"]);
  assert.deepEqual(
    imported(softmaxModel(11, [2, "N", 4], 0)).nodes.map((n) => n.attrs),
    [{ axis: 0 }, { axis: 1 }, { shape: [2, -1, 4] }],
  );
  assert.match(
    importError(modelBytes(softmaxModel(11, ["N", "C", 4], 0))),
    /Node "y" \(Softmax\): shape element 0 is the symbolic dim "N", which resin cannot express/,
  );
});

Deno.test({
  name: "pre-13 Softmax over a flattened 3-D input computes coerced-2-D softmax",
  ignore: !["Flatten", "Softmax", "Reshape"].every(hasOp),
  fn: () => {
    const graph = imported(softmaxModel(11, [2, 3, 5], 1));
    const x = randomTensor(seededRandom(3), "f32", [2, 3, 5], -3, 3);
    const { y } = runReference(graph, { x });
    const expected = new Float64Array(30);
    for (let b = 0; b < 2; b++) {
      const row = Array.from(x.data.subarray(15 * b, 15 * b + 15));
      const max = Math.max(...row);
      const sum = row.reduce((s, v) => s + Math.exp(v - max), 0);
      row.forEach((v, i) => (expected[15 * b + i] = Math.exp(v - max) / sum));
    }
    assertClose(y.data, expected, { atol: 1e-6, rtol: 1e-5 }, "softmax");
  },
});

Deno.test("Sum becomes a chain of binary Add; a one-input Sum disappears", () => {
  const graph = imported({
    opset: 8,
    nodes: [
      node("Sum", ["a", "b", "c"], ["s"], [], { name: "" }),
      node("Sum", ["s"], ["t"]),
      node("Relu", ["t"], ["y"]),
    ],
    inputs: ["a", "b", "c"].map((n) => tensorInfo(n, [4])),
    outputs: [tensorInfo("y", [4])],
  });
  assert.deepEqual(graph.nodes, [
    { name: "s_add1", op: "Add", inputs: ["a", "b"], outputs: ["s_partial1"], attrs: {} },
    { name: "s", op: "Add", inputs: ["s_partial1", "c"], outputs: ["s"], attrs: {} },
    { name: "y", op: "Relu", inputs: ["s"], outputs: ["y"], attrs: {} },
  ]);
});

Deno.test("Clip bounds become attributes: from inputs (opset 11+) or Clip-6 attributes", () => {
  const clip11 = imported({
    opset: 12,
    nodes: [node("Clip", ["x", "lo", ""], ["y"])],
    inputs: [X4],
    outputs: [tensorInfo("y", ["N", 3, 4, 5])],
    initializers: [floatTensor("lo", [], [0])],
  });
  assert.deepEqual(shapes(clip11), [{
    op: "Clip",
    inputs: ["x"],
    outputs: ["y"],
    attrs: { min: 0 },
  }]);
  assert.equal(clip11.initializers.size, 0);
  const clip6 = imported({
    opset: 6,
    nodes: [node("Clip", ["x"], ["y"], [attr.float("max", 6)])],
    inputs: [X4],
    outputs: [tensorInfo("y", ["N", 3, 4, 5])],
  });
  assert.deepEqual(clip6.nodes[0].attrs, { min: -3.4028234663852886e38, max: 6 });
  assert.equal(
    importError(modelBytes({
      opset: 13,
      nodes: [node("Clip", ["x", "x"], ["y"])],
      inputs: [X4],
      outputs: [tensorInfo("y", ["N", 3, 4, 5])],
    })),
    'Node "y" (Clip): the min input "x" must be a constant',
  );
});

Deno.test("Split sizes, Squeeze/Unsqueeze/ReduceMean axes and Reshape shapes become attributes", () => {
  const graph = imported({
    opset: 13,
    nodes: [
      node("Split", ["x", "sizes"], ["s0", "s1"], [attr.int("axis", 3)]),
      node("Unsqueeze", ["s0", "axes"], ["u"]),
      node("Squeeze", ["u", "axes"], ["q"]),
      node("ReduceMean", ["q"], ["m"], [attr.ints("axes", [2, 3]), attr.int("keepdims", 0)]),
      node("Reshape", ["s1", "shape"], ["r"]),
    ],
    inputs: [X4],
    outputs: [tensorInfo("m", ["N", 3]), tensorInfo("r", ["N", 36])],
    initializers: [
      int64Tensor("sizes", [2], [2, 3]),
      int64Tensor("axes", [1], [1]),
      int64Tensor("shape", [2], [0, -1]),
    ],
  });
  assert.deepEqual(graph.nodes.map((n) => [n.op, n.inputs, n.attrs]), [
    ["Split", ["x"], { axis: 3, split: [2, 3] }],
    ["Unsqueeze", ["s0"], { axes: [1] }],
    ["Squeeze", ["u"], { axes: [1] }],
    ["ReduceMean", ["q"], { axes: [2, 3], keepdims: 0 }],
    ["Reshape", ["s1"], { shape: [0, -1] }],
  ]);
  assert.equal(graph.initializers.size, 0);
  const old = imported({
    opset: 11,
    nodes: [
      node("Split", ["x"], ["s0", "s1"], [attr.int("axis", 1), attr.ints("split", [1, 2])]),
      node("Unsqueeze", ["s0"], ["u"], [attr.ints("axes", [0])]),
      node("Reshape", ["s1", "shape"], ["r"]),
    ],
    inputs: [X4],
    outputs: [tensorInfo("u", [1, "N", 1, 4, 5]), tensorInfo("r", ["N", 40])],
    initializers: [int64Tensor("shape", [2], [-1, 40])],
  });
  assert.deepEqual(old.nodes.map((n) => n.attrs), [{ axis: 1, split: [1, 2] }, { axes: [0] }, {
    shape: [-1, 40],
  }]);
  const reshape4 = imported({
    opset: 4,
    nodes: [
      node("Reshape", ["x"], ["r"], [
        attr.ints("shape", [0, 60]),
        attr.ints("consumed_inputs", [0]),
      ]),
    ],
    inputs: [X4],
    outputs: [tensorInfo("r", ["N", 60])],
  });
  assert.deepEqual(reshape4.nodes[0].attrs, { shape: [0, 60] });
});

Deno.test("Reshape allowzero: 0 is accepted and dropped, 1 with a 0 in the shape fails", () => {
  const spec = (allowzero: number): ModelSpec => ({
    opset: 14,
    nodes: [node("Reshape", ["x", "shape"], ["r"], [attr.int("allowzero", allowzero)])],
    inputs: [X4],
    outputs: [tensorInfo("r", ["N", 60])],
    initializers: [int64Tensor("shape", [2], [0, 60])],
  });
  assert.deepEqual(imported(spec(0)).nodes[0].attrs, { shape: [0, 60] });
  assert.equal(
    importError(modelBytes(spec(1))),
    'Node "r" (Reshape): allowzero=1 with a 0 in the shape is not supported',
  );
});

/** The flatten that PyTorch exported as Shape -> Gather -> Unsqueeze -> Concat -> Reshape. */
function shapeChain(data: string, gatherIndex: number, opset = 12): ModelSpec {
  return {
    opset,
    nodes: [
      node("Relu", ["x"], ["a"]),
      node("Shape", [data], ["shape"]),
      node("Gather", ["shape", "index"], ["dim"], [attr.int("axis", 0)]),
      node("Unsqueeze", ["dim"], ["dims"], [attr.ints("axes", [0])]),
      node("Concat", ["dims", "minus_one"], ["target"], [attr.int("axis", 0)]),
      node("Reshape", ["a", "target"], ["y"]),
    ],
    inputs: [X4],
    outputs: [tensorInfo("y", ["N", 60])],
    initializers: [int64Tensor("index", [], [gatherIndex]), int64Tensor("minus_one", [1], [-1])],
  };
}

Deno.test("Shape -> Gather -> Unsqueeze -> Concat -> Reshape folds to a Reshape attribute", () => {
  const graph = imported(shapeChain("x", 0));
  assert.deepEqual(shapes(graph), [
    { op: "Relu", inputs: ["x"], outputs: ["a"], attrs: {} },
    { op: "Reshape", inputs: ["a"], outputs: ["y"], attrs: { shape: [0, -1] } },
  ]);
  assert.equal(graph.initializers.size, 0);
  // A known dim folds to its number.
  assert.deepEqual(imported(shapeChain("x", 2)).nodes[1].attrs, { shape: [4, -1] });
});

Deno.test("a folded symbolic value that cannot be expressed fails, naming the symbol", () => {
  const spec = shapeChain("x", 0);
  spec.initializers![1] = int64Tensor("minus_one", [1], [60]);
  spec.nodes[4] = node("Concat", ["minus_one", "dims"], ["target"], [attr.int("axis", 0)]);
  // [60, N] for an input [N, ...]: N is not at index 0, so it becomes -1.
  assert.deepEqual(imported(spec).nodes[1].attrs, { shape: [60, -1] });
  // [N, N, -1]: the first N copies dim 0, the second has no -1 left to become.
  spec.initializers![1] = int64Tensor("minus_one", [1], [-1]);
  spec.nodes[4] = node("Concat", ["dims", "dims", "minus_one"], ["target"], [attr.int("axis", 0)]);
  assert.equal(
    importError(modelBytes(spec)),
    'Node "y" (Reshape): shape element 1 is the symbolic dim "N", which resin cannot express ' +
      "with 0 (copy) or -1 (infer)",
  );
});

Deno.test("a folded value read as data becomes an i32 initializer, unless it is symbolic", () => {
  const spec = (index: number): ModelSpec => ({
    nodes: [
      node("Shape", ["x"], ["s"]),
      node("Gather", ["s", "i"], ["d"]),
      node("Add", ["y0", "d"], ["y"]),
    ],
    inputs: [X4, tensorInfo("y0", [1], DATA_TYPE.INT32)],
    outputs: [tensorInfo("y", [1], DATA_TYPE.INT32)],
    initializers: [int64Tensor("i", [1], [index])],
  });
  const graph = imported(spec(3));
  assert.deepEqual(graph.initializers.get("d"), {
    dtype: "i32",
    shape: [1],
    data: Int32Array.of(5),
  });
  assert.equal(
    importError(modelBytes(spec(0))),
    'Node "y" (Add) reads "d" as data, but its value depends on the symbolic dim "N"; resin ' +
      "folds shape arithmetic into attributes only",
  );
});

Deno.test("int64 initializers read as data become i32, range-checked", () => {
  const spec = (v: bigint): ModelSpec => ({
    nodes: [node("Add", ["a", "k"], ["y"])],
    inputs: [tensorInfo("a", [2], DATA_TYPE.INT32)],
    outputs: [tensorInfo("y", [2], DATA_TYPE.INT32)],
    initializers: [int64Tensor("k", [2], [-3n, v])],
  });
  assert.deepEqual(imported(spec(7n)).initializers.get("k")!.data, Int32Array.of(-3, 7));
  assert.equal(
    importError(modelBytes(spec(2n ** 40n))),
    'Tensor "k" holds the int64 value 1099511627776, outside the int32 range resin stores',
  );
});

Deno.test("Identity and Dropout are bypassed; a graph output takes over its producer's value", () => {
  const graph = imported({
    opset: 12,
    nodes: [
      node("Identity", ["x"], ["i"]),
      node("Relu", ["i"], ["r"]),
      node("Dropout", ["r", "ratio"], ["y", ""], [attr.int("seed", 1)]),
      node("Relu", ["y"], ["z"]),
    ],
    inputs: [X4],
    outputs: [tensorInfo("y", ["N", 3, 4, 5]), tensorInfo("z", ["N", 3, 4, 5])],
    initializers: [floatTensor("ratio", [], [0.5])],
  });
  assert.deepEqual(shapes(graph), [
    { op: "Relu", inputs: ["x"], outputs: ["y"], attrs: {} },
    { op: "Relu", inputs: ["y"], outputs: ["z"], attrs: {} },
  ]);
  assert.equal(graph.initializers.size, 0);
  const passThrough = modelBytes({
    nodes: [node("Identity", ["x"], ["y"])],
    inputs: [X4],
    outputs: [tensorInfo("y", ["N", 3, 4, 5])],
  });
  assert.equal(
    importError(passThrough),
    'Graph output "y" is "x" passed through unchanged; resin graph outputs must be computed by a node',
  );
  const mask = modelBytes({
    opset: 12,
    nodes: [node("Dropout", ["x"], ["y", "m"])],
    inputs: [X4],
    outputs: [tensorInfo("y", ["N", 3, 4, 5]), tensorInfo("m", ["N", 3, 4, 5], DATA_TYPE.BOOL)],
  });
  assert.equal(
    importError(mask),
    'Node "y" (Dropout): its mask output "m" is used; resin computes only the main output',
  );
});

Deno.test("Cast keeps a resin dtype string, from Cast-6 codes and Cast-1 names", () => {
  const cast = (opset: number, to: ReturnType<typeof attr.int>) =>
    imported({
      opset,
      nodes: [node("Cast", ["x"], ["y"], [to])],
      inputs: [X4],
      outputs: [tensorInfo("y", ["N", 3, 4, 5], DATA_TYPE.FLOAT16)],
    }).nodes[0].attrs;
  assert.deepEqual(cast(13, attr.int("to", DATA_TYPE.FLOAT16)), { to: "f16" });
  assert.deepEqual(cast(5, attr.string("to", "UINT8")), { to: "u8" });
  assert.throws(
    () => cast(13, attr.int("to", DATA_TYPE.DOUBLE)),
    /casting to DOUBLE is not supported/,
  );
});

Deno.test("Constant nodes become initializers; int constants fold into attributes", () => {
  const graph = imported({
    opset: 13,
    nodes: [
      node("Constant", [], ["k"], [attr.tensor("value", floatTensor("", [1], [2.5]))]),
      node("Constant", [], ["shape"], [attr.ints("value_ints", [0, -1])]),
      node("Constant", [], ["half"], [attr.float("value_float", 0.5)]),
      node("Mul", ["x", "k"], ["m"]),
      node("Mul", ["m", "half"], ["h"]),
      node("Reshape", ["h", "shape"], ["y"]),
    ],
    inputs: [X4],
    outputs: [tensorInfo("y", ["N", 60])],
  });
  assert.deepEqual([...graph.initializers.entries()], [
    ["k", { dtype: "f32", shape: [1], data: Float32Array.of(2.5) }],
    ["half", { dtype: "f32", shape: [], data: Float32Array.of(0.5) }],
  ]);
  assert.deepEqual(graph.nodes.map((n) => n.op), ["Mul", "Mul", "Reshape"]);
  assert.deepEqual(graph.nodes[2].attrs, { shape: [0, -1] });
});

Deno.test("nodes without names get unique names from their first output", () => {
  const graph = imported({
    opset: 9,
    nodes: [
      node("Relu", ["x"], ["a"], [], { name: "" }),
      node("Relu", ["a"], ["b"], [], { name: "a" }),
      node("Relu", ["b"], ["c"], [], { name: "a" }),
      node("Relu", ["c"], ["y"], [], { name: "" }),
    ],
    inputs: [X4],
    outputs: [tensorInfo("y", ["N", 3, 4, 5])],
  });
  assert.deepEqual(graph.nodes.map((n) => n.name), ["a_1", "a", "a_2", "y"]);
});

Deno.test("opset-6 Add with broadcast and axis aligns B with an Unsqueeze", () => {
  const graph = imported({
    opset: 6,
    nodes: [node("Add", ["x", "b"], ["y"], [attr.int("broadcast", 1), attr.int("axis", 1)])],
    inputs: [X4],
    outputs: [tensorInfo("y", ["N", 3, 4, 5])],
    initializers: [floatTensor("b", [3], [1, 2, 3])],
  });
  assert.deepEqual(shapes(graph), [
    { op: "Unsqueeze", inputs: ["b"], outputs: ["y_b_aligned"], attrs: { axes: [1, 2] } },
    { op: "Add", inputs: ["x", "y_b_aligned"], outputs: ["y"], attrs: {} },
  ]);
  // Without an axis, legacy broadcasting is numpy's trailing alignment: nothing to insert.
  const trailing = imported({
    opset: 6,
    nodes: [node("Mul", ["x", "b"], ["y"], [attr.int("broadcast", 1)])],
    inputs: [X4],
    outputs: [tensorInfo("y", ["N", 3, 4, 5])],
    initializers: [floatTensor("b", [5], [1, 2, 3, 4, 5])],
  });
  assert.deepEqual(shapes(trailing), [{
    op: "Mul",
    inputs: ["x", "b"],
    outputs: ["y"],
    attrs: {},
  }]);
});

Deno.test({
  name: "opset-6 Add with axis=1 adds B per channel",
  ignore: !["Unsqueeze", "Add"].every(hasOp),
  fn: () => {
    const graph = imported({
      opset: 6,
      nodes: [node("Add", ["x", "b"], ["y"], [attr.int("broadcast", 1), attr.int("axis", 1)])],
      inputs: [tensorInfo("x", [2, 3, 4, 5])],
      outputs: [tensorInfo("y", [2, 3, 4, 5])],
      initializers: [floatTensor("b", [3], [10, 20, 30])],
    });
    const x = randomTensor(seededRandom(5), "f32", [2, 3, 4, 5]);
    const { y } = runReference(graph, { x });
    // Legacy broadcasting aligns B's one axis with axis 1 of X: channel c gets b[c].
    const expected = Array.from(
      x.data,
      (v, i) => Math.fround(v + [10, 20, 30][Math.floor(i / 20) % 3]),
    );
    assertClose(y.data, expected, { atol: 0, rtol: 0 }, "legacy broadcast");
  },
});

Deno.test("Gemm keeps its attributes and drops the Gemm-6 broadcast flag", () => {
  const graph = imported({
    opset: 6,
    nodes: [node("Gemm", ["x", "w", "c"], ["y"], [
      attr.int("broadcast", 1),
      attr.int("transB", 1),
      attr.float("alpha", 0.5),
    ])],
    inputs: [tensorInfo("x", ["N", 4])],
    outputs: [tensorInfo("y", ["N", 2])],
    initializers: [floatTensor("w", [2, 4], new Array(8).fill(1)), floatTensor("c", [2], [0, 1])],
  });
  assert.deepEqual(graph.nodes[0].attrs, { transB: 1, alpha: 0.5 });
});

Deno.test("Slice and Pad operands become attributes, INT64_MAX ends clamped to int32", () => {
  const graph = imported({
    opset: 13,
    nodes: [
      node("Slice", ["x", "starts", "ends", "axes", "steps"], ["s"]),
      node("Pad", ["s", "pads", "value"], ["y"], [attr.string("mode", "constant")]),
    ],
    inputs: [X4],
    outputs: [tensorInfo("y", ["N", 3, 4, 5])],
    initializers: [
      int64Tensor("starts", [2], [0, 1]),
      int64Tensor("ends", [2], [2n ** 63n - 1n, -(2n ** 63n)]),
      int64Tensor("axes", [2], [2, 3]),
      int64Tensor("steps", [2], [2, -1]),
      int64Tensor("pads", [8], [0, 0, 1, 0, 0, 0, 0, 3]),
      floatTensor("value", [], [-1]),
    ],
  });
  assert.deepEqual(graph.nodes.map((n) => n.attrs), [
    { starts: [0, 1], ends: [2147483647, -2147483648], axes: [2, 3], steps: [2, -1] },
    { pads: [0, 0, 1, 0, 0, 0, 0, 3], mode: "constant", value: -1 },
  ]);
  const old = imported({
    opset: 9,
    nodes: [
      node("Slice", ["x"], ["s"], [
        attr.ints("starts", [1]),
        attr.ints("ends", [3]),
        attr.ints("axes", [1]),
      ]),
      node("Pad", ["s"], ["y"], [
        attr.ints("pads", [0, 0, 1, 1, 0, 0, 1, 1]),
        attr.float("value", 2),
      ]),
    ],
    inputs: [X4],
    outputs: [tensorInfo("y", ["N", 2, 6, 7])],
  });
  assert.deepEqual(old.nodes.map((n) => n.attrs), [
    { starts: [1], ends: [3], axes: [1] },
    { pads: [0, 0, 1, 1, 0, 0, 1, 1], value: 2 },
  ]);
});

Deno.test("MaxPool drops storage_order and fails when its Indices output is read", () => {
  const spec = (outputs: string[]): ModelSpec => ({
    opset: 12,
    nodes: [node("MaxPool", ["x"], outputs, [
      attr.ints("kernel_shape", [2, 2]),
      attr.int("storage_order", 0),
      attr.int("ceil_mode", 1),
    ])],
    inputs: [X4],
    outputs: outputs.map((o) => tensorInfo(o, ["N", 3, 2, 3])),
  });
  assert.deepEqual(imported(spec(["y"])).nodes[0].attrs, { kernel_shape: [2, 2], ceil_mode: 1 });
  assert.match(importError(modelBytes(spec(["y", "idx"]))), /its Indices output "idx" is used/);
});

Deno.test("Concat-1 defaults its axis to 1; Concat-4 requires one", () => {
  const spec = (opset: number): ModelSpec => ({
    opset,
    nodes: [node("Concat", ["x", "x"], ["y"])],
    inputs: [X4],
    outputs: [tensorInfo("y", ["N", 6, 4, 5])],
  });
  assert.deepEqual(imported(spec(3)).nodes[0].attrs, { axis: 1 });
  assert.equal(importError(modelBytes(spec(4))), 'Node "y" (Concat): has no axis attribute');
});

Deno.test("com.microsoft int8 ops import with their scale and zero-point inputs as they are", () => {
  const inputs = ["a", "as", "az", "b", "bs", "bz", "cs", "cz"];
  const graph = imported({
    nodes: [node("QLinearAdd", inputs, ["y"], [], { domain: "com.microsoft" })],
    inputs: ["a", "b"].map((n) => tensorInfo(n, [1, 4], DATA_TYPE.UINT8)),
    outputs: [tensorInfo("y", [1, 4], DATA_TYPE.UINT8)],
    initializers: ["as", "bs", "cs"].map((n) => floatTensor(n, [], [0.5]))
      .concat(
        ["az", "bz", "cz"].map((n) => ({
          name: n,
          dims: [],
          dataType: DATA_TYPE.UINT8,
          rawData: Uint8Array.of(128),
        })),
      ),
    domains: { "com.microsoft": 1 },
  });
  assert.deepEqual(shapes(graph), [{ op: "QLinearAdd", inputs, outputs: ["y"], attrs: {} }]);
  assert.deepEqual([...graph.initializers.keys()].sort(), ["as", "az", "bs", "bz", "cs", "cz"]);
  assert.equal(graph.initializers.get("az")!.dtype, "u8");
});

Deno.test("malformed files fail with one-line errors", async () => {
  const random = new Uint8Array(4096);
  const rand = seededRandom(11);
  for (let i = 0; i < random.length; i++) random[i] = Math.floor(rand() * 256);
  assert.match(importError(random), /^Not an ONNX model: /);
  assert.equal(importError(new Uint8Array(0)), "Not an ONNX model: no IR version");
  const valid = modelBytes({
    nodes: [node("Relu", ["x"], ["y"])],
    inputs: [X4],
    outputs: [tensorInfo("y", ["N", 3, 4, 5])],
  });
  assert.match(
    importError(valid.subarray(0, valid.length - 5)),
    /^Not an ONNX model: Truncated message: /,
  );
  const text = new TextEncoder().encode("<html><body>not a model</body></html>");
  assert.match(importError(text), /^Not an ONNX model: /);
  await Promise.resolve();
});

Deno.test("unsupported ops, opsets, attributes and data types fail with one-line errors", () => {
  const relu = (opset: number, extra: Partial<ModelSpec> = {}) =>
    modelBytes({
      opset,
      nodes: [node("Relu", ["x"], ["y"], [], { name: "bar" })],
      inputs: [X4],
      outputs: [tensorInfo("y", ["N", 3, 4, 5])],
      ...extra,
    });
  assert.equal(
    importError(modelBytes({
      opset: 12,
      nodes: [node("Foo", ["x"], ["y"], [], { name: "bar" })],
      inputs: [X4],
      outputs: [tensorInfo("y", [1])],
    })),
    'Unsupported op "Foo" (domain "", opset 12) in node "bar"',
  );
  assert.equal(
    importError(relu(18)),
    'Unsupported opset 18 for op "Relu" (domain "") in node "bar"; resin imports ai.onnx opsets 3 to 17',
  );
  assert.equal(
    importError(relu(2)),
    'Unsupported opset 2 for op "Relu" (domain "") in node "bar"; resin imports ai.onnx opsets 3 to 17',
  );
  assert.equal(
    importError(modelBytes({
      nodes: [node("QLinearAdd", ["x"], ["y"], [], { name: "bar", domain: "com.microsoft" })],
      inputs: [X4],
      outputs: [tensorInfo("y", [1])],
    })),
    'Unsupported opset (not imported) for op "QLinearAdd" (domain "com.microsoft") in node "bar"; ' +
      "resin imports com.microsoft opsets 1 to 1",
  );
  assert.equal(
    importError(modelBytes({
      nodes: [node("Relu", ["x"], ["y"], [attr.float("alpha", 1)], { name: "bar" })],
      inputs: [X4],
      outputs: [tensorInfo("y", [1])],
    })),
    'Node "bar" (Relu): unexpected attribute "alpha"',
  );
  assert.equal(
    importError(relu(13, { inputs: [tensorInfo("x", [2], DATA_TYPE.INT64)] })),
    'Graph input "x" has data type INT64; resin inputs must be FLOAT, FLOAT16, INT8, UINT8 or INT32',
  );
  assert.equal(
    importError(modelBytes({
      nodes: [node("Gather", ["x", "i"], ["y"], [], { name: "bar" })],
      inputs: [X4],
      outputs: [tensorInfo("y", [1])],
      initializers: [int64Tensor("i", [], [0])],
    })),
    'Node "bar" (Gather): resin supports Gather only on constant integer inputs (folded at import)',
  );
  assert.equal(
    importError(modelBytes({
      nodes: [node("Relu", ["a"], ["y"], [], { name: "bar" })],
      inputs: [X4],
      outputs: [tensorInfo("y", [1])],
    })),
    'Node "bar" (Relu) reads "a", which no graph input, initializer or earlier node provides',
  );
});

Deno.test("an external-data initializer fails: external-data tensors are not supported", () => {
  const message = importError(modelBytes({
    nodes: [node("Add", ["x", "w"], ["y"])],
    inputs: [X4],
    outputs: [tensorInfo("y", ["N", 3, 4, 5])],
    initializers: [{
      name: "w",
      dims: [5],
      dataType: DATA_TYPE.FLOAT,
      dataLocation: 1,
      externalData: [{ key: "location", value: "weights.bin" }],
    }],
  }));
  assert.equal(
    message,
    'Tensor "w" keeps its data in an external file; external-data tensors are not supported ' +
      "(re-save the model with its data embedded)",
  );
});
