import assert from "node:assert/strict";
import { join } from "node:path";
import { HAS_SHARED, SHARED_DIR } from "../image/_test_images.ts";
import { OPTIONS, tfliteModel } from "./_test_models.ts";
import {
  builtinName,
  conv2DOptions,
  decodeTflite,
  depthwiseConv2DOptions,
  fullyConnectedOptions,
  pool2DOptions,
  reducerKeepDims,
  softmaxBeta,
  TENSOR_TYPE,
} from "./schema.ts";

Deno.test("decodeTflite reads tensors, quantization, buffers, operator codes and options", () => {
  const bytes = tfliteModel({
    tensors: [
      {
        name: "x",
        shape: [1, 5, 5, 3],
        type: "INT8",
        quant: { scale: [0.5], zeroPoint: [-3] },
        signature: [-1, 5, 5, 3],
      },
      {
        name: "w",
        shape: [2, 3, 3, 3],
        type: "INT8",
        data: Array.from({ length: 54 }, (_, i) => i - 27),
        quant: { scale: [0.1, 0.2], zeroPoint: [0, 0], dim: 0 },
      },
      { name: "y", shape: [1, 3, 3, 2], type: "INT8" },
      { name: "z", shape: [1, 3, 3, 2], type: "FLOAT32" },
    ],
    ops: [
      {
        op: "CONV_2D",
        inputs: [0, 1, -1],
        outputs: [2],
        options: OPTIONS.conv2d("VALID", [1, 2], "RELU6", [2, 1]),
      },
      { op: "CUMSUM", inputs: [2], outputs: [3] },
      { op: { custom: "MyOp" }, inputs: [3], outputs: [3] },
    ],
    inputs: [0],
    outputs: [3],
  });
  const model = decodeTflite(bytes);
  assert.equal(model.version, 3);
  assert.equal(model.description, "resin test model");
  // CUMSUM (128) sits past the byte-sized deprecated field, which holds 127.
  assert.deepEqual(model.operatorCodes.map((c) => [builtinName(c.builtinCode), c.customCode]), [
    ["CONV_2D", ""],
    ["CUMSUM", ""],
    ["CUSTOM", "MyOp"],
  ]);
  const [main] = model.subgraphs;
  assert.deepEqual([main.inputs, main.outputs, main.name], [[0], [3], "main"]);
  const [x, w, y] = main.tensors;
  assert.deepEqual(x.shape, [1, 5, 5, 3]);
  assert.deepEqual(x.shapeSignature, [-1, 5, 5, 3]);
  assert.equal(x.type, TENSOR_TYPE.INT8);
  assert.deepEqual(x.quantization, { scale: [0.5], zeroPoint: [-3], quantizedDimension: 0 });
  assert.deepEqual(w.quantization?.scale, [Math.fround(0.1), Math.fround(0.2)]);
  assert.equal(y.quantization, undefined);
  assert.deepEqual([...new Int8Array(model.buffers[w.buffer].slice().buffer)].slice(0, 3), [
    -27,
    -26,
    -25,
  ]);
  assert.equal(model.buffers[x.buffer].length, 0);
  const [conv] = main.operators;
  assert.deepEqual(conv.inputs, [0, 1, -1]);
  assert.deepEqual(conv2DOptions(conv.options), {
    padding: "VALID",
    strideW: 2,
    strideH: 1,
    activation: 3,
    dilationW: 1,
    dilationH: 2,
  });
});

Deno.test("the options readers read each table and default absent ones", () => {
  const ops = [
    OPTIONS.depthwise("SAME", [2, 3], 4, "RELU"),
    OPTIONS.pool("VALID", [1, 2], [3, 4], "NONE"),
    OPTIONS.fullyConnected("RELU_N1_TO_1", true),
    OPTIONS.softmax(0.25),
    OPTIONS.reducer(true),
  ].map((options) => ({ op: "ADD", inputs: [0], outputs: [0], options }));
  const model = decodeTflite(
    tfliteModel({
      tensors: [{ name: "x", shape: [1], type: "FLOAT32" }],
      ops,
      inputs: [0],
      outputs: [0],
    }),
  );
  const [dw, pool, fc, softmax, reducer] = model.subgraphs[0].operators.map((op) => op.options);
  assert.deepEqual(depthwiseConv2DOptions(dw), {
    padding: "SAME",
    strideW: 3,
    strideH: 2,
    depthMultiplier: 4,
    activation: 1,
    dilationW: 1,
    dilationH: 1,
  });
  assert.deepEqual(pool2DOptions(pool), {
    padding: "VALID",
    strideW: 2,
    strideH: 1,
    filterW: 4,
    filterH: 3,
    activation: 0,
  });
  assert.deepEqual(fullyConnectedOptions(fc), {
    activation: 2,
    weightsFormat: 0,
    keepNumDims: true,
  });
  assert.equal(softmaxBeta(softmax), 0.25);
  assert.equal(reducerKeepDims(reducer), true);
  assert.equal(reducerKeepDims(undefined), false);
  assert.equal(conv2DOptions(undefined).dilationH, 1);
});

Deno.test({
  name:
    "decodeTflite reads the MLPerf Tiny ResNet-8 int8 file as its model card lists it (needs ../shared)",
  ignore: !HAS_SHARED,
  fn: async () => {
    const path = join(SHARED_DIR, "models", "mlperf-tiny-resnet8", "pretrainedResnet_quant.tflite");
    const model = decodeTflite(await Deno.readFile(path));
    const [main] = model.subgraphs;
    const counts: Record<string, number> = {};
    for (const op of main.operators) {
      const name = builtinName(model.operatorCodes[op.opcodeIndex].builtinCode);
      counts[name] = (counts[name] ?? 0) + 1;
    }
    // ../shared/models/README.md: 16 operators, 38 tensors, 18 with per-channel quantization.
    assert.deepEqual(counts, {
      CONV_2D: 9,
      ADD: 3,
      AVERAGE_POOL_2D: 1,
      RESHAPE: 1,
      FULLY_CONNECTED: 1,
      SOFTMAX: 1,
    });
    assert.equal(main.tensors.length, 38);
    assert.equal(main.tensors.filter((t) => (t.quantization?.scale.length ?? 0) > 1).length, 18);
    const input = main.tensors[main.inputs[0]];
    assert.deepEqual([input.name, input.shape, input.quantization?.zeroPoint], ["input_1_int8", [
      1,
      32,
      32,
      3,
    ], [-128]]);
    assert.equal(model.description, "MLIR Converted.");
  },
});
