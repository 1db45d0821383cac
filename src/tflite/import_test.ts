import assert from "node:assert/strict";
import { join } from "node:path";
import { runReference } from "../executor/reference.ts";
import { makeTensor } from "../graph/types.ts";
import { HAS_SHARED, SHARED_DIR } from "../image/_test_images.ts";
import { seededRandom } from "../testing/random.ts";
import { assertClose } from "../testing/tolerance.ts";
import { type ModelSpec, OPTIONS, tfliteModel } from "./_test_models.ts";
import { importTflite, TfliteImportError } from "./import.ts";

/** x [1,4,4,2] -> CONV_2D 3x3 SAME (w [3,3,3,2], bias) -> y [1,4,4,3]. */
function convSpec(): ModelSpec {
  const rand = seededRandom(1);
  return {
    tensors: [
      { name: "x", shape: [1, 4, 4, 2], type: "FLOAT32", signature: [-1, 4, 4, 2] },
      {
        name: "w",
        shape: [3, 3, 3, 2],
        type: "FLOAT32",
        data: Array.from({ length: 54 }, () => rand() - 0.5),
      },
      { name: "b", shape: [3], type: "FLOAT32", data: [0.1, -0.2, 0.3] },
      { name: "y", shape: [1, 4, 4, 3], type: "FLOAT32", signature: [-1, 4, 4, 3] },
    ],
    ops: [{
      op: "CONV_2D",
      inputs: [0, 1, 2],
      outputs: [3],
      options: OPTIONS.conv2d("SAME", [1, 1]),
    }],
    inputs: [0],
    outputs: [3],
  };
}

function rejects(bytes: Uint8Array, message: string): void {
  assert.throws(
    () => importTflite(bytes),
    (err: Error) => {
      assert.ok(err instanceof TfliteImportError, `${err.name}: ${err.message}`);
      assert.equal(err.message, message);
      return true;
    },
  );
}

Deno.test("bad TFLite files fail with one clear line each", () => {
  const good = tfliteModel(convSpec());
  const truncated = good.subarray(0, good.length - 100);
  assert.throws(
    () => importTflite(truncated),
    /^TfliteImportError: Not a TFLite model \(or truncated\): Model\.\S+ .* lies outside the \d+-byte buffer$/,
  );
  const magic = good.slice();
  magic.set(new TextEncoder().encode("ONNX"), 4);
  rejects(magic, `Not a TFLite model (or truncated): File identifier is "ONNX", expected "TFL3"`);
  rejects(
    tfliteModel({ ...convSpec(), version: 2 }),
    "TFLite schema version 2 is not supported (3 is)",
  );
  const outOfRange = convSpec();
  outOfRange.tensors[1].buffer = 9;
  rejects(tfliteModel(outOfRange), `Tensor #1 "w" refers to buffer 9, but the model has 3 buffers`);
  const short = convSpec();
  short.tensors[2].data = [0.1, 0.2];
  rejects(
    tfliteModel(short),
    `Tensor #2 "b" [3] of type FLOAT32 needs 12 bytes, but buffer 2 holds 8`,
  );
  const tanh = convSpec();
  tanh.ops = [{ op: "TANH", inputs: [0], outputs: [3] }];
  rejects(tfliteModel(tanh), `Unsupported TFLite op "TANH" (builtin code 28) in operator #0`);
  const custom = convSpec();
  custom.ops.push({ op: { custom: "TFLite_Detection_PostProcess" }, inputs: [3], outputs: [3] });
  rejects(
    tfliteModel(custom),
    `Unsupported TFLite custom op "TFLite_Detection_PostProcess" in operator #1`,
  );
  const fused = convSpec();
  fused.ops[0].options = OPTIONS.conv2d("SAME", [1, 1], "TANH");
  rejects(
    tfliteModel(fused),
    "Operator #0 (CONV_2D): fused activation TANH is not supported (NONE, RELU, RELU6, " +
      "RELU_N1_TO_1 are)",
  );
  const wrongOptions = convSpec();
  wrongOptions.ops[0].options = OPTIONS.pool("SAME", [1, 1], [3, 3]);
  rejects(
    tfliteModel(wrongOptions),
    "Operator #0 (CONV_2D): carries builtin options of type 5, expected Conv2DOptions (1)",
  );
  const missing = convSpec();
  missing.ops[0].inputs = [0, 1, 7];
  rejects(
    tfliteModel(missing),
    "Operator #0 (CONV_2D) reads tensor 7, but subgraph 0 has 4 tensors",
  );
});

Deno.test("int8 operators resin has no int8 kernel for, and unsupported int8 shapes, are named", () => {
  const q = { scale: [0.1], zeroPoint: [0] };
  rejects(
    tfliteModel({
      tensors: [
        { name: "a", shape: [1, 4], type: "INT8", quant: q },
        { name: "b", shape: [1, 4], type: "INT8", quant: q },
        { name: "y", shape: [1, 4], type: "INT8", quant: q },
      ],
      ops: [{ op: "MUL", inputs: [0, 1], outputs: [2], options: OPTIONS.mul() }],
      inputs: [0, 1],
      outputs: [2],
    }),
    "Operator #0 (MUL): int8 inputs are not supported",
  );
  rejects(
    tfliteModel({
      tensors: [
        { name: "a", shape: [1, 4], type: "INT8", quant: q },
        { name: "b", shape: [1, 1], type: "INT8", quant: q },
        { name: "y", shape: [1, 4], type: "INT8", quant: q },
      ],
      ops: [{ op: "ADD", inputs: [0, 1], outputs: [2], options: OPTIONS.add() }],
      inputs: [0, 1],
      outputs: [2],
    }),
    "Operator #0 (ADD): operands [1,4] and [1,1] differ in shape (int8 broadcasting is not " +
      "supported)",
  );
});

Deno.test("a float conv imports as NHWC input -> Transpose -> Conv (OIHW) -> Transpose", () => {
  const spec = convSpec();
  const { graph, kind } = importTflite(tfliteModel(spec));
  assert.equal(kind, "float");
  assert.deepEqual(graph.inputs, [{
    name: "x",
    dtype: "f32",
    shape: ["N", 4, 4, 2],
    layout: "NHWC",
  }]);
  assert.deepEqual(graph.outputs, [{
    name: "y",
    dtype: "f32",
    shape: ["N", 4, 4, 3],
    layout: "NHWC",
  }]);
  assert.deepEqual(graph.nodes.map((n) => n.op), ["Transpose", "Conv", "Transpose"]);
  // Against a direct NHWC convolution of the file's tensors (float64 sums).
  const w = spec.tensors[1].data!, b = spec.tensors[2].data!;
  const x = makeTensor("f32", [2, 4, 4, 2], Array.from({ length: 64 }, (_, i) => Math.sin(i)));
  const expected: number[] = [];
  for (let n = 0; n < 2; n++) {
    for (let oy = 0; oy < 4; oy++) {
      for (let ox = 0; ox < 4; ox++) {
        for (let m = 0; m < 3; m++) {
          let acc = b[m];
          for (let ky = 0; ky < 3; ky++) {
            for (let kx = 0; kx < 3; kx++) {
              const iy = oy + ky - 1, ix = ox + kx - 1;
              if (iy < 0 || iy >= 4 || ix < 0 || ix >= 4) continue;
              for (let c = 0; c < 2; c++) {
                acc += x.data[((n * 4 + iy) * 4 + ix) * 2 + c] *
                  Math.fround(w[((m * 3 + ky) * 3 + kx) * 2 + c]);
              }
            }
          }
          expected.push(acc);
        }
      }
    }
  }
  const { y } = runReference(graph, { x });
  assertClose(y.data, expected, { atol: 1e-6, rtol: 1e-6 }, "conv");
});

Deno.test({
  name: "the MLPerf Tiny ResNet-8 files import as float and int8 graphs (needs ../shared)",
  ignore: !HAS_SHARED,
  fn: async () => {
    const dir = join(SHARED_DIR, "models", "mlperf-tiny-resnet8");
    const float = importTflite(await Deno.readFile(join(dir, "pretrainedResnet.tflite")));
    assert.equal(float.kind, "float");
    assert.deepEqual(float.graph.inputs[0].shape, ["N", 32, 32, 3]);
    assert.equal(float.graph.nodes.filter((n) => n.op === "Conv").length, 9);
    const int8 = importTflite(await Deno.readFile(join(dir, "pretrainedResnet_quant.tflite")));
    assert.equal(int8.kind, "int8");
    assert.deepEqual(int8.graph.inputs[0].quant, { scale: [1], zeroPoint: [-128] });
    assert.deepEqual(int8.graph.outputs[0], {
      name: "Identity_int8",
      dtype: "i8",
      shape: ["N", 10],
      layout: "NC",
      quant: { scale: [1 / 256], zeroPoint: [-128] },
    });
    assert.deepEqual(
      int8.graph.nodes.map((n) => n.op).filter((op, i, all) => all.indexOf(op) === i),
      [
        "PadChannels",
        "TflConv",
        "TflAdd",
        "TflAveragePool",
        "Reshape",
        "TflFullyConnected",
        "TflSoftmax",
      ],
    );
  },
});
