/**
 * Every TFLite operator resin imports, in small built models (src/tflite/_test_models.ts) with
 * odd shapes, against LiteRT.js (tests/_litert.ts) on both backends: float models within the
 * float bound, int8 models bit for bit.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createSession } from "../src/executor/session.ts";
import { makeTensor } from "../src/graph/types.ts";
import {
  type ModelSpec,
  OPTIONS,
  type TensorSpec,
  tfliteModel,
} from "../src/tflite/_test_models.ts";
import { convertTflite } from "../src/tflite/convert_model.ts";
import { seededRandom } from "../src/testing/random.ts";
import { relativeL2 } from "../src/testing/tolerance.ts";
import { decodeModel } from "../src/weights/decode.ts";
import { HAS_LITERT, runLitert } from "./_litert.ts";

const HAS_GPU = await navigator.gpu?.requestAdapter().then((a) => a !== null, () => false);

/** Seeded uniform values in [lo, hi), integers for integer types. */
function values(seed: number, count: number, lo = -1, hi = 1, integer = false): number[] {
  const rand = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const v = lo + (hi - lo) * rand();
    return integer ? Math.floor(v) : v;
  });
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** A constant float tensor of random values. */
function floatConst(
  name: string,
  shape: number[],
  seed: number,
  type: TensorSpec["type"] = "FLOAT32",
): TensorSpec {
  return { name, shape, type, data: values(seed, size(shape), -0.8, 0.8) };
}

/** Float: DEPTHWISE (multiplier 2, RELU6) -> CONV (dilated, RELU) -> PAD -> MAX_POOL -> MUL by a
 * per-channel constant -> ADD (RELU) -> AVERAGE_POOL (SAME: counts exclude padding) -> MEAN ->
 * FULLY_CONNECTED -> SOFTMAX (beta 0.7). */
const FLOAT_CHAIN: ModelSpec = {
  tensors: [
    { name: "x", shape: [1, 9, 7, 3], type: "FLOAT32", signature: [-1, 9, 7, 3] },
    floatConst("dw", [1, 3, 3, 6], 1),
    floatConst("dw_b", [6], 2),
    { name: "t1", shape: [1, 5, 4, 6], type: "FLOAT32" },
    floatConst("w", [4, 2, 3, 6], 3),
    floatConst("w_b", [4], 4),
    { name: "t2", shape: [1, 3, 2, 4], type: "FLOAT32" },
    { name: "paddings", shape: [4, 2], type: "INT32", data: [0, 0, 1, 0, 0, 2, 0, 0] },
    { name: "t3", shape: [1, 4, 4, 4], type: "FLOAT32" },
    { name: "t4", shape: [1, 2, 2, 4], type: "FLOAT32" },
    floatConst("scale", [4], 5),
    { name: "t5", shape: [1, 2, 2, 4], type: "FLOAT32" },
    { name: "t6", shape: [1, 2, 2, 4], type: "FLOAT32" },
    { name: "t7", shape: [1, 2, 2, 4], type: "FLOAT32" },
    { name: "axes", shape: [2], type: "INT32", data: [1, 2] },
    { name: "t8", shape: [1, 4], type: "FLOAT32" },
    floatConst("fc", [5, 4], 6),
    floatConst("fc_b", [5], 7),
    { name: "t9", shape: [1, 5], type: "FLOAT32" },
    { name: "y", shape: [1, 5], type: "FLOAT32", signature: [-1, 5] },
  ],
  ops: [
    {
      op: "DEPTHWISE_CONV_2D",
      inputs: [0, 1, 2],
      outputs: [3],
      options: OPTIONS.depthwise("SAME", [2, 2], 2, "RELU6"),
    },
    {
      op: "CONV_2D",
      inputs: [3, 4, 5],
      outputs: [6],
      options: OPTIONS.conv2d("VALID", [1, 1], "RELU", [2, 1]),
    },
    { op: "PAD", inputs: [6, 7], outputs: [8] },
    { op: "MAX_POOL_2D", inputs: [8], outputs: [9], options: OPTIONS.pool("SAME", [2, 2], [2, 2]) },
    { op: "MUL", inputs: [9, 10], outputs: [11], options: OPTIONS.mul() },
    { op: "ADD", inputs: [11, 9], outputs: [12], options: OPTIONS.add("RELU") },
    {
      op: "AVERAGE_POOL_2D",
      inputs: [12],
      outputs: [13],
      options: OPTIONS.pool("SAME", [1, 1], [3, 3]),
    },
    { op: "MEAN", inputs: [13, 14], outputs: [15], options: OPTIONS.reducer(false) },
    {
      op: "FULLY_CONNECTED",
      inputs: [15, 16, 17],
      outputs: [18],
      options: OPTIONS.fullyConnected(),
    },
    { op: "SOFTMAX", inputs: [18], outputs: [19], options: OPTIONS.softmax(0.7) },
  ],
  inputs: [0],
  outputs: [19],
};

/**
 * Float: FLOAT16 weights through DEQUANTIZE -> CONV 1x1 -> RESHAPE of an NHWC tensor with
 * H, W, C > 1 (resin transposes back from NCHW) -> FULLY_CONNECTED (RELU_N1_TO_1). Every op
 * has a bias: LiteRT.js 2.5.3 returns garbage for a CONV_2D whose optional bias is omitted.
 */
const FLOAT_RESHAPE: ModelSpec = {
  tensors: [
    { name: "x", shape: [1, 4, 3, 5], type: "FLOAT32", signature: [-1, 4, 3, 5] },
    floatConst("w16", [2, 1, 1, 5], 8, "FLOAT16"),
    { name: "w", shape: [2, 1, 1, 5], type: "FLOAT32" },
    { name: "t1", shape: [1, 4, 3, 2], type: "FLOAT32" },
    { name: "shape", shape: [2], type: "INT32", data: [-1, 24] },
    { name: "t2", shape: [1, 24], type: "FLOAT32", signature: [-1, 24] },
    floatConst("fc", [3, 24], 9),
    { name: "y", shape: [1, 3], type: "FLOAT32", signature: [-1, 3] },
    floatConst("b", [2], 10),
    floatConst("fc_b", [3], 11),
  ],
  ops: [
    { op: "DEQUANTIZE", inputs: [1], outputs: [2] },
    { op: "CONV_2D", inputs: [0, 2, 8], outputs: [3], options: OPTIONS.conv2d("VALID", [1, 1]) },
    { op: "RESHAPE", inputs: [3, 4], outputs: [5], options: OPTIONS.reshape([-1, 24]) },
    {
      op: "FULLY_CONNECTED",
      inputs: [5, 6, 9],
      outputs: [7],
      options: OPTIONS.fullyConnected("RELU_N1_TO_1"),
    },
  ],
  inputs: [0],
  outputs: [7],
};

/** An int8 activation tensor. */
function int8(name: string, shape: number[], scale: number, zeroPoint: number): TensorSpec {
  return { name, shape, type: "INT8", quant: { scale: [scale], zeroPoint: [zeroPoint] } };
}

/** Int8 weights with per-channel scales on `dim`, and their bias (scale s_x * s_w). */
function int8Weights(name: string, shape: number[], dim: number, inputScale: number, seed: number) {
  const channels = shape[dim];
  const scales = values(seed, channels, 0.004, 0.02);
  return [
    {
      name,
      shape,
      type: "INT8",
      data: values(seed + 1, size(shape), -127, 128, true),
      quant: { scale: scales, zeroPoint: Array(channels).fill(0), dim },
    },
    {
      name: `${name}_bias`,
      shape: [channels],
      type: "INT32",
      data: values(seed + 2, channels, -3000, 3000, true),
      quant: {
        scale: scales.map((s) => Math.fround(inputScale) * Math.fround(s)),
        zeroPoint: Array(channels).fill(0),
      },
    },
  ] as TensorSpec[];
}

/** Int8: DEPTHWISE (5 channels: padded to 8 inside resin; RELU6 with a nonzero zero point) ->
 * MAX_POOL -> CONV (RELU) -> ADD -> RESHAPE -> FULLY_CONNECTED -> SOFTMAX. */
const INT8_CHAIN: ModelSpec = {
  tensors: [
    { ...int8("x", [1, 7, 6, 5], 0.05, 3), signature: [-1, 7, 6, 5] },
    ...int8Weights("dw", [1, 3, 3, 5], 3, 0.05, 10),
    int8("t1", [1, 7, 6, 5], 0.04, -10),
    int8("t2", [1, 3, 3, 5], 0.04, -10),
    ...int8Weights("w", [8, 2, 2, 5], 0, 0.04, 20),
    int8("t3", [1, 2, 2, 8], 0.06, -128),
    int8("t4", [1, 2, 2, 8], 0.09, -20),
    { name: "shape", shape: [2], type: "INT32", data: [-1, 32] },
    { ...int8("t5", [1, 32], 0.09, -20), signature: [-1, 32] },
    {
      name: "fc",
      shape: [4, 32],
      type: "INT8",
      data: values(30, 128, -127, 128, true),
      quant: { scale: [0.01], zeroPoint: [0] },
    },
    {
      name: "fc_b",
      shape: [4],
      type: "INT32",
      data: [100, -50, 7, 0],
      quant: { scale: [0.0009], zeroPoint: [0] },
    },
    int8("t6", [1, 4], 0.2, 5),
    { ...int8("y", [1, 4], 1 / 256, -128), signature: [-1, 4] },
  ],
  ops: [
    {
      op: "DEPTHWISE_CONV_2D",
      inputs: [0, 1, 2],
      outputs: [3],
      options: OPTIONS.depthwise("SAME", [1, 1], 1, "RELU6"),
    },
    {
      op: "MAX_POOL_2D",
      inputs: [3],
      outputs: [4],
      options: OPTIONS.pool("VALID", [2, 2], [2, 2]),
    },
    {
      op: "CONV_2D",
      inputs: [4, 5, 6],
      outputs: [7],
      options: OPTIONS.conv2d("VALID", [1, 1], "RELU"),
    },
    { op: "ADD", inputs: [7, 7], outputs: [8], options: OPTIONS.add() },
    { op: "RESHAPE", inputs: [8, 9], outputs: [10], options: OPTIONS.reshape([-1, 32]) },
    {
      op: "FULLY_CONNECTED",
      inputs: [10, 11, 12],
      outputs: [13],
      options: OPTIONS.fullyConnected(),
    },
    { op: "SOFTMAX", inputs: [13], outputs: [14], options: OPTIONS.softmax(1) },
  ],
  inputs: [0],
  outputs: [14],
};

/** Int8 in, float out: CONV -> DEQUANTIZE. */
const INT8_DEQUANTIZE: ModelSpec = {
  tensors: [
    { ...int8("x", [1, 5, 5, 4], 0.1, -7), signature: [-1, 5, 5, 4] },
    ...int8Weights("w", [3, 3, 3, 4], 0, 0.1, 40),
    int8("t1", [1, 3, 3, 3], 0.05, 2),
    { name: "y", shape: [1, 3, 3, 3], type: "FLOAT32", signature: [-1, 3, 3, 3] },
  ],
  ops: [
    { op: "CONV_2D", inputs: [0, 1, 2], outputs: [3], options: OPTIONS.conv2d("VALID", [1, 1]) },
    { op: "DEQUANTIZE", inputs: [3], outputs: [4] },
  ],
  inputs: [0],
  outputs: [4],
};

/** Float in and out around an int8 conv: QUANTIZE -> CONV -> DEQUANTIZE. */
const QUANTIZE_DEQUANTIZE: ModelSpec = {
  tensors: [
    { name: "x", shape: [1, 5, 6, 4], type: "FLOAT32", signature: [-1, 5, 6, 4] },
    int8("q", [1, 5, 6, 4], 0.0372, -9),
    ...int8Weights("w", [4, 3, 3, 4], 0, 0.0372, 60),
    int8("t1", [1, 5, 6, 4], 0.05, 12),
    { name: "y", shape: [1, 5, 6, 4], type: "FLOAT32", signature: [-1, 5, 6, 4] },
  ],
  ops: [
    { op: "QUANTIZE", inputs: [0], outputs: [1] },
    { op: "CONV_2D", inputs: [1, 2, 3], outputs: [4], options: OPTIONS.conv2d("SAME", [1, 1]) },
    { op: "DEQUANTIZE", inputs: [4], outputs: [5] },
  ],
  inputs: [0],
  outputs: [5],
};

const CASES: [string, ModelSpec, "float" | "exact"][] = [
  ["float QUANTIZE, int8 CONV, DEQUANTIZE", QUANTIZE_DEQUANTIZE, "exact"],
  ["float chain of DEPTHWISE, CONV, PAD, pools, MUL, ADD, MEAN, FC, SOFTMAX", FLOAT_CHAIN, "float"],
  ["float DEQUANTIZE (FLOAT16 weights), RESHAPE of NHWC, FC", FLOAT_RESHAPE, "float"],
  ["int8 chain of DEPTHWISE, MAX_POOL, CONV, ADD, RESHAPE, FC, SOFTMAX", INT8_CHAIN, "exact"],
  ["int8 CONV then DEQUANTIZE to float", INT8_DEQUANTIZE, "exact"],
];

const BATCH = 6;

for (const backend of ["cpu", "gpu"] as const) {
  for (const [name, spec, compare] of CASES) {
    Deno.test({
      name: `TFLite ${name} matches LiteRT on the ${backend} (needs LiteRT)`,
      ignore: !HAS_LITERT || (backend === "gpu" && !HAS_GPU),
      sanitizeResources: backend === "cpu",
      sanitizeOps: backend === "cpu",
      fn: async () => {
        const bytes = tfliteModel(spec);
        const input = spec.tensors[spec.inputs[0]];
        const shape = input.shape;
        const count = BATCH * size(shape);
        const x = input.type === "INT8"
          ? Int8Array.from(values(50, count, -128, 128, true))
          : Float32Array.from(values(50, count, -2, 2));
        const reference = await runLitert(bytes, x, shape, BATCH);
        const { manifest, weights } = await convertTflite(bytes, { name: "ops", source: name });
        const model = await decodeModel(manifest, weights);
        const session = await createSession(model, { backend, batch: BATCH });
        try {
          const dtype = input.type === "INT8" ? "i8" : "f32";
          const outputs = await session.run({
            [input.name]: makeTensor(dtype, [BATCH, ...shape.slice(1)], x),
          });
          const actual = [...outputs[model.graph.outputs[0].name].data];
          const width = actual.length / BATCH;
          reference.forEach((row, n) => {
            const got = actual.slice(n * width, (n + 1) * width);
            if (compare === "exact") assert.deepEqual(got, row, `input ${n}`);
            else assert.ok(relativeL2(got, row) <= 1e-5, `input ${n}: ${got} vs ${row}`);
          });
        } finally {
          session.dispose();
        }
      },
    });
  }
}
