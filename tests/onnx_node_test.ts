/**
 * The ONNX backend node tests (Debian's libonnx-testdata): every model whose ops resin
 * imports and whose imported ops are all in the op registry is imported, run with the
 * reference interpreter, and compared with each `output_N.pb`. Models resin deliberately
 * does not support are listed in `UNSUPPORTED_GROUPS` with the reason; each must still fail,
 * so the list cannot go stale. Ignored when the test data is not installed.
 */
import assert from "node:assert/strict";
import { runReference } from "../src/executor/reference.ts";
import type { Tensor } from "../src/graph/types.ts";
import { importableOps, importOnnx } from "../src/onnx/import.ts";
import {
  decodeModel,
  decodeTensorProto,
  encodeModel,
  type OnnxModel,
} from "../src/onnx/onnx_proto.ts";
import { decodeTensorPb } from "../src/onnx/tensor_pb.ts";
import { hasOp } from "../src/ops/registry.ts";
import { assertClose, TOLERANCES } from "../src/testing/tolerance.ts";

const NODE_TESTS = "/usr/share/libonnx-testdata/data/node";
const HAS_NODE_TESTS = (() => {
  try {
    return Deno.statSync(NODE_TESTS).isDirectory;
  } catch {
    return false;
  }
})();

/**
 * Node tests resin does not pass by design, grouped by reason, with what the error must say.
 * Each must still fail that way; one that passes is reported so that it is removed here.
 */
const UNSUPPORTED_GROUPS: [reason: string, error: RegExp, tests: string[]][] = [
  ["Add runs on f32 and i32 only", /got u8/, [
    "test_add_uint8",
  ]],
  ["Mul runs on f32 only", /got u8/, [
    "test_mul_uint8",
  ]],
  ["Clip runs on f32 only", /got i8/, [
    "test_clip_default_int8_inbounds",
    "test_clip_default_int8_max",
    "test_clip_default_int8_min",
  ]],
  ["pools are 2-D (NCHW) only", /NCHW/, [
    "test_averagepool_1d_default",
    "test_averagepool_3d_default",
    "test_maxpool_1d_default",
    "test_maxpool_3d_default",
  ]],
  ["MaxPool's Indices output is not computed", /Indices output "\w+" is used/, [
    "test_maxpool_with_argmax_2d_precomputed_pads",
    "test_maxpool_with_argmax_2d_precomputed_strides",
  ]],
  ["Cast has no f16 kernel", /f16/, [
    "test_cast_FLOAT_to_FLOAT16",
    "test_cast_FLOAT16_to_FLOAT",
    "test_castlike_FLOAT_to_FLOAT16_expanded",
    "test_castlike_FLOAT16_to_FLOAT_expanded",
  ]],
  ["bfloat16, double and strings are not resin dtypes", /BFLOAT16|DOUBLE|STRING/, [
    "test_cast_BFLOAT16_to_FLOAT",
    "test_cast_FLOAT_to_BFLOAT16",
    "test_castlike_BFLOAT16_to_FLOAT_expanded",
    "test_castlike_FLOAT_to_BFLOAT16_expanded",
    "test_cast_DOUBLE_to_FLOAT",
    "test_cast_DOUBLE_to_FLOAT16",
    "test_cast_FLOAT_to_DOUBLE",
    "test_cast_FLOAT16_to_DOUBLE",
    "test_castlike_DOUBLE_to_FLOAT_expanded",
    "test_castlike_DOUBLE_to_FLOAT16_expanded",
    "test_castlike_FLOAT_to_DOUBLE_expanded",
    "test_castlike_FLOAT16_to_DOUBLE_expanded",
    "test_cast_FLOAT_to_STRING",
    "test_cast_STRING_to_FLOAT",
    "test_castlike_FLOAT_to_STRING_expanded",
    "test_castlike_STRING_to_FLOAT_expanded",
  ]],
  ["BatchNormalization is inference-only", /training_mode=1 is not supported/, [
    "test_batchnorm_epsilon_training_mode",
    "test_batchnorm_example_training_mode",
  ]],
  ["Dropout is inference-only (training_mode is a bool input)", /data type BOOL/, [
    "test_training_dropout",
    "test_training_dropout_default",
    "test_training_dropout_default_mask",
    "test_training_dropout_mask",
    "test_training_dropout_zero_ratio",
    "test_training_dropout_zero_ratio_mask",
  ]],
  ["Dropout's mask output is not computed", /mask output "\w+" is used/, [
    "test_dropout_default_mask",
    "test_dropout_default_mask_ratio",
  ]],
  [
    "the output is the input passed through Identity, Dropout or a one-input Sum",
    /passed through unchanged/,
    [
      "test_dropout_default",
      "test_dropout_default_old",
      "test_dropout_default_ratio",
      "test_dropout_random_old",
      "test_identity",
      "test_sum_one_input",
    ],
  ],
  ["optional values and sequences are not tensors", /has an? (optional|sequence) type/, [
    "test_identity_opt",
    "test_identity_sequence",
  ]],
  ["opset 1, below the opset 3 resin imports", /Unsupported opset 1 /, [
    "test_globalaveragepool",
    "test_globalaveragepool_precomputed",
  ]],
  [
    "Gather runs only as import-time shape arithmetic (here on int64 input indices)",
    /"indices" has data type INT64/,
    [
      "test_gather_0",
      "test_gather_1",
      "test_gather_2d_indices",
      "test_gather_negative_indices",
    ],
  ],
  ["int64 graph outputs (Shape runs only at import time)", /has data type INT64/, [
    "test_shape",
    "test_shape_clip_end",
    "test_shape_clip_start",
    "test_shape_end_1",
    "test_shape_end_negative_1",
    "test_shape_example",
    "test_shape_start_1",
    "test_shape_start_1_end_2",
    "test_shape_start_1_end_negative_1",
    "test_shape_start_negative_1",
  ]],
  ["Reshape allowzero=1 with a 0 in the shape", /allowzero=1/, [
    "test_reshape_allowzero_reordered",
  ]],
  ["zero-size tensors", /does not fit its declared shape/, [
    "test_split_zero_size_splits",
  ]],
];

const UNSUPPORTED = new Map(
  UNSUPPORTED_GROUPS.flatMap(([reason, error, tests]) => tests.map((t) => [t, { reason, error }])),
);

/**
 * Constant operands (op -> input indices) that node tests feed as graph inputs. resin takes
 * them as attributes, so the harness bakes each test set's value into the model as an
 * initializer, which is what a real model has there.
 */
const CONSTANT_OPERANDS: Readonly<Record<string, number[]>> = {
  Clip: [1, 2],
  Dropout: [1, 2],
  Pad: [1, 2],
  Reshape: [1],
  Slice: [1, 2, 3, 4],
  Split: [1],
  Squeeze: [1],
  Unsqueeze: [1],
};

const IMPORTABLE = new Set(importableOps().map(([domain, op]) => `${domain}:${op}`));

function listDirs(path: string, prefix: string): string[] {
  return [...Deno.readDirSync(path)]
    .filter((e) => e.isDirectory && e.name.startsWith(prefix))
    .map((e) => e.name)
    .sort();
}

/** The model of one test data set: constant operands moved from inputs to initializers. */
function bakeConstants(model: OnnxModel, bytes: Uint8Array, setDir: string): Uint8Array {
  const graph = model.graph!;
  const constant = new Set(
    graph.nodes.flatMap((n) => (CONSTANT_OPERANDS[n.opType] ?? []).map((i) => n.inputs[i])),
  );
  const baked = graph.inputs.flatMap((info, k) => {
    if (!constant.has(info.name)) return [];
    const tensor = decodeTensorProto(Deno.readFileSync(`${setDir}/input_${k}.pb`));
    return [{ ...tensor, name: info.name }];
  });
  if (baked.length === 0) return bytes;
  return encodeModel({
    ...model,
    graph: {
      ...graph,
      inputs: graph.inputs.filter((info) => !constant.has(info.name)),
      initializers: [...graph.initializers, ...baked],
    },
  });
}

/** Runs one node test on every data set; returns the names of ops missing from the registry. */
function runNodeTest(name: string): string[] {
  const dir = `${NODE_TESTS}/${name}`;
  const bytes = Deno.readFileSync(`${dir}/model.onnx`);
  const model = decodeModel(bytes);
  for (const set of listDirs(dir, "test_data_set_")) {
    const setDir = `${dir}/${set}`;
    const { graph } = importOnnx(bakeConstants(model, bytes, setDir));
    const missing = [...new Set(graph.nodes.map((n) => n.op).filter((op) => !hasOp(op)))];
    if (missing.length > 0) return missing;
    const inputs: Record<string, Tensor> = {};
    model.graph!.inputs.forEach((info, k) => {
      if (graph.inputs.some((i) => i.name === info.name)) {
        inputs[info.name] = decodeTensorPb(Deno.readFileSync(`${setDir}/input_${k}.pb`)).tensor;
      }
    });
    const outputs = runReference(graph, inputs);
    graph.outputs.forEach((info, k) => {
      const expected = decodeTensorPb(Deno.readFileSync(`${setDir}/output_${k}.pb`)).tensor;
      const actual = outputs[info.name];
      const what = `${name}/${set} output "${info.name}"`;
      assert.equal(actual.dtype, expected.dtype, `${what} dtype`);
      assert.deepEqual(actual.shape, expected.shape, `${what} shape`);
      // f32 within 1e-4; integers and f16 bits (only Cast produces f16) exactly.
      const tolerance = expected.dtype === "f32" ? TOLERANCES.f32Kernel : TOLERANCES.exact;
      assertClose(actual.data, expected.data, tolerance, what);
    });
  }
  return [];
}

Deno.test({
  name: "ONNX node tests import and run on the reference interpreter (needs libonnx-testdata)",
  ignore: !HAS_NODE_TESTS,
  fn: async (t) => {
    const waiting = new Map<string, string[]>();
    const unsupported: string[] = [];
    let passed = 0;
    let outOfScope = 0;
    const all = listDirs(NODE_TESTS, "test_");
    for (const name of UNSUPPORTED.keys()) {
      assert.ok(all.includes(name), `UNSUPPORTED_GROUPS lists "${name}", which is not a node test`);
    }
    for (const name of all) {
      const { graph } = decodeModel(Deno.readFileSync(`${NODE_TESTS}/${name}/model.onnx`));
      const domains = graph!.nodes.map((n) =>
        `${n.domain === "ai.onnx" ? "" : n.domain}:${n.opType}`
      );
      if (!domains.every((op) => IMPORTABLE.has(op))) {
        outOfScope++;
        continue;
      }
      const expected = UNSUPPORTED.get(name);
      await t.step(expected ? `${name} fails: ${expected.reason}` : name, () => {
        if (!expected) {
          const missing = runNodeTest(name);
          if (missing.length > 0) waiting.set(name, missing);
          else passed++;
          return;
        }
        assert.throws(
          () => {
            const missing = runNodeTest(name);
            if (missing.length > 0) throw new Error(`ops ${missing} are not registered`);
          },
          expected.error,
          `${name} no longer fails as UNSUPPORTED_GROUPS says`,
        );
        unsupported.push(name);
      });
    }
    const waitingOps = [...new Set([...waiting.values()].flat())].sort();
    console.log(
      `ONNX node tests: ${passed} passed; ${unsupported.length} fail by design (UNSUPPORTED_GROUPS, ` +
        `with reasons); ${waiting.size} wait for ops not yet registered` +
        (waitingOps.length ? ` (${waitingOps.join(", ")})` : "") +
        `; ${outOfScope} use ops outside resin's import set`,
    );
    if (waiting.size > 0) console.log(`Waiting for ops: ${[...waiting.keys()].join(", ")}`);
    assert.ok(passed > 0, "no node test ran");
  },
});
