import assert from "node:assert/strict";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { runReference } from "../../executor/reference.ts";
import { attr, modelBytes, node, tensorInfo } from "../../onnx/_test_models.ts";
import { importOnnx } from "../../onnx/import.ts";
import { decodeModel, type OnnxNode, type OnnxTensor } from "../../onnx/onnx_proto.ts";
import { onnxTensor, runOrtModel } from "../../ops/_int8_testing.ts";
import { randomTensor, seededRandom } from "../../testing/random.ts";
import { assertClose, TOLERANCES } from "../../testing/tolerance.ts";
import { type DType, makeTensor, type Tensor } from "../types.ts";
import { qdqToQOperator } from "./qdq_to_qoperator.ts";

const rand = seededRandom(5);

/** Initializers of a QDQ test model, built as the nodes ask for them. */
class Params {
  tensors: OnnxTensor[] = [];
  add(name: string, t: Tensor): string {
    this.tensors.push(onnxTensor(name, t));
    return name;
  }
  /** Scale and zero point initializers `${v}_s`, `${v}_z`. */
  quant(v: string, scale: number, zero: number, dtype: DType = "u8"): [string, string] {
    return [
      this.add(`${v}_s`, makeTensor("f32", [], [Math.fround(scale)])),
      this.add(`${v}_z`, makeTensor(dtype, [], [zero])),
    ];
  }
}

const dq = (x: string, [s, z]: [string, string], out: string) =>
  node("DequantizeLinear", [x, s, z], [out]);
const q = (x: string, [s, z]: [string, string], out: string) =>
  node("QuantizeLinear", [x, s, z], [out]);

/**
 * A QDQ model on input "x" f32 [1, 4, 7, 6] whose first nodes quantize it to "xq" and
 * dequantize that to "xd"; `output` is f32 of `shape`.
 */
function qdqModel(p: Params, body: OnnxNode[], output: string, shape: number[]) {
  const xq = p.quant("xq", 0.02, 128);
  return modelBytes({
    nodes: [q("x", xq, "xq"), dq("xq", xq, "xd"), ...body],
    inputs: [tensorInfo("x", [1, 4, 7, 6])],
    outputs: [tensorInfo(output, shape)],
    initializers: p.tensors,
  });
}

/** Conv 4 -> 5 channels on "xd" with int8 weights and an int32 bias; output "conv". */
function convNodes(p: Params, out = "conv"): OnnxNode[] {
  const wq = p.add("w", randomTensor(rand, "i8", [5, 4, 3, 3], -127, 128));
  const ws = p.quant("w", 0.004, 0, "i8");
  const bq = p.add("b", makeTensor("i32", [5], [100, -2000, 300, 4, -5]));
  const bs = p.quant("b", 0.02 * 0.004, 0, "i32");
  return [
    dq(wq, ws, "wd"),
    dq(bq, bs, "bd"),
    node("Conv", ["xd", "wd", "bd"], [out], [
      attr.ints("pads", [1, 1, 1, 1]),
      attr.ints("kernel_shape", [3, 3]),
    ]),
  ];
}

/** The op types of a converted graph, sorted. */
function ops(bytes: Uint8Array): string[] {
  return qdqToQOperator(importOnnx(bytes).graph).nodes.map((n) => n.op).sort();
}

async function assertMatchesOrt(bytes: Uint8Array, what: string) {
  const x = { x: randomTensor(seededRandom(9), "f32", [1, 4, 7, 6], -2.5, 2.5) };
  const expected = await runOrtModel(bytes, x);
  const actual = runReference(qdqToQOperator(importOnnx(bytes).graph), x);
  for (const [name, t] of Object.entries(expected)) {
    assertClose(actual[name].data, t.data, TOLERANCES.exact, `${what}: ${name}`);
  }
}

Deno.test("qdqToQOperator: DQ -> Conv -> Relu -> Q(zero point 0) becomes QLinearConv, like onnxruntime", async () => {
  const p = new Params();
  const yq = p.quant("y", 0.05, 0);
  const bytes = qdqModel(
    p,
    [
      ...convNodes(p),
      node("Relu", ["conv"], ["relu"]),
      q("relu", yq, "y"),
      dq("y", yq, "out"),
    ],
    "out",
    [1, 5, 7, 6],
  );
  assert.deepEqual(ops(bytes), ["DequantizeLinear", "QLinearConv", "QuantizeLinear"]);
  await assertMatchesOrt(bytes, "conv relu");
});

Deno.test("qdqToQOperator keeps a Relu the Q does not make redundant, and its Conv, in float", () => {
  const p = new Params();
  const yq = p.quant("y", 0.05, 10);
  const bytes = qdqModel(
    p,
    [
      ...convNodes(p),
      node("Relu", ["conv"], ["relu"]),
      q("relu", yq, "y"),
      dq("y", yq, "out"),
    ],
    "out",
    [1, 5, 7, 6],
  );
  assert.deepEqual(ops(bytes), [
    "Conv",
    "DequantizeLinear",
    "DequantizeLinear",
    "DequantizeLinear",
    "DequantizeLinear",
    "QuantizeLinear",
    "QuantizeLinear",
    "Relu",
  ]);
});

Deno.test("qdqToQOperator leaves a Conv whose output has a second reader in float", () => {
  const p = new Params();
  const yq = p.quant("y", 0.05, 3);
  const bytes = qdqModel(
    p,
    [
      ...convNodes(p),
      q("conv", yq, "y"),
      node("Relu", ["conv"], ["r"]),
      dq("y", yq, "d"),
      node("Add", ["d", "r"], ["out"]),
    ],
    "out",
    [1, 5, 7, 6],
  );
  assert.ok(ops(bytes).includes("Conv"));
});

Deno.test("qdqToQOperator: QDQ Add, MaxPool (equal parameters) and Gemm without Q, like onnxruntime", async () => {
  const p = new Params();
  const cq = p.quant("c", 0.05, 3);
  const sq = p.quant("s", 0.07, 60);
  const gw = p.add("gw", randomTensor(rand, "i8", [10, 45], -127, 128));
  const gws = p.quant("gw", 0.003, 0, "i8");
  const body = [
    ...convNodes(p),
    q("conv", cq, "cq"),
    dq("cq", cq, "cd"),
    node("Add", ["cd", "cd"], ["sum"]),
    q("sum", sq, "sq"),
    dq("sq", sq, "sd"),
    node("MaxPool", ["sd"], ["pool"], [
      attr.ints("kernel_shape", [2, 2]),
      attr.ints("strides", [2, 2]),
    ]),
    q("pool", sq, "pq"),
    dq("pq", sq, "pd"),
    node("Flatten", ["pd"], ["flat"], [attr.int("axis", 1)]),
    q("flat", sq, "fq"),
    dq("fq", sq, "fd"),
    dq(gw, gws, "gwd"),
    node("Gemm", ["fd", "gwd"], ["out"], [attr.int("transB", 1)]),
  ];
  const model = qdqModel(p, body, "out", [1, 10]);
  assert.deepEqual(ops(model), [
    "Flatten",
    "MaxPool",
    "QGemm",
    "QLinearAdd",
    "QLinearConv",
    "QuantizeLinear",
  ]);
  await assertMatchesOrt(model, "add, pool, gemm");
});

const SHARED = new URL("../../../../shared/models/", import.meta.url).pathname;
const HAVE_SHARED = (() => {
  try {
    return Deno.statSync(SHARED).isDirectory;
  } catch {
    return false;
  }
})();

const INTEGER_OPS = [
  "QLinearConv",
  "QLinearAdd",
  "QLinearMatMul",
  "QGemm",
  "QLinearGlobalAveragePool",
  "QLinearAveragePool",
];

for (
  const file of [
    "zoo-synth/resnet50-v1-12-qdq-tiny-synth.onnx",
    "zoo-synth/preresnet18_a025_pt_224_qdq_int8-tiny-synth.onnx",
    "shufflenet-v2-12-qdq.onnx",
  ]
) {
  Deno.test({
    name: `qdqToQOperator fuses the node groups onnxruntime fuses in ${file} (needs ../shared)`,
    ignore: !HAVE_SHARED,
    fn: async () => {
      const bytes = await Deno.readFile(join(SHARED, file));
      const optimized = await Deno.makeTempFile({ suffix: ".onnx" });
      try {
        const session = await ort.InferenceSession.create(bytes, {
          graphOptimizationLevel: "extended",
          optimizedModelFilePath: optimized,
        });
        await session.release();
        const theirs = decodeModel(await Deno.readFile(optimized)).graph!.nodes;
        const ours = qdqToQOperator(importOnnx(bytes).graph).nodes;
        for (const op of INTEGER_OPS) {
          const a = theirs.filter((n) => n.opType === op).map((n) => n.outputs[0]).sort();
          const b = ours.filter((n) => n.op === op).map((n) => n.outputs[0]).sort();
          assert.deepEqual(b, a, `${op} outputs`);
        }
      } finally {
        await Deno.remove(optimized);
      }
    },
  });
}

Deno.test("qdqToQOperator tabulates DQ -> BatchNormalization -> Relu -> Q with onnxruntime's bytes", async () => {
  const p = new Params();
  const yq = p.quant("y", 0.03, 0);
  const bn = ["g", "beta", "mean", "var"].map((name, i) =>
    p.add(
      name,
      randomTensor(
        rand,
        "f32",
        [4],
        ...([[0.5, 1.5], [-1, 1], [-1, 1], [0.1, 2]][i] as [number, number]),
      ),
    )
  );
  const bytes = qdqModel(
    p,
    [
      node("BatchNormalization", ["xd", ...bn], ["bn"], [attr.float("epsilon", 1e-5)]),
      node("Relu", ["bn"], ["relu"]),
      q("relu", yq, "y"),
      dq("y", yq, "out"),
    ],
    "out",
    [1, 4, 7, 6],
  );
  assert.deepEqual(ops(bytes), ["DequantizeLinear", "QLinearLookup", "QuantizeLinear"]);
  await assertMatchesOrt(bytes, "batch norm island");
});
