/**
 * The MLPerf Tiny ResNet-8 TFLite models (../shared/models/mlperf-tiny-resnet8/) on real CIFAR-10
 * images against LiteRT.js (tests/_litert.ts): the float model within 1e-5 relative L2 per
 * image, the int8 model bit for bit (final outputs on both backends, and every intermediate
 * tensor through the reference interpreter).
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { createSession } from "../src/executor/session.ts";
import { runReference } from "../src/executor/reference.ts";
import { makeTensor } from "../src/graph/types.ts";
import { decodeImage } from "../src/image/decode.ts";
import { HAS_SHARED, SHARED_DIR } from "../src/image/_test_images.ts";
import { convertTflite } from "../src/tflite/convert_model.ts";
import { rootTable } from "../src/tflite/flatbuffer.ts";
import { importTflite } from "../src/tflite/import.ts";
import { decodeTflite } from "../src/tflite/schema.ts";
import { relativeL2 } from "../src/testing/tolerance.ts";
import { decodeModel } from "../src/weights/decode.ts";
import { writeModelDir } from "../src/weights/load_file.ts";
import { runEval } from "../tools/eval.ts";
import { HAS_LITERT, runLitert } from "./_litert.ts";

const MODELS = join(SHARED_DIR, "models", "mlperf-tiny-resnet8");
const FLOAT = join(MODELS, "pretrainedResnet.tflite");
const INT8 = join(MODELS, "pretrainedResnet_quant.tflite");
const IMAGES = join(SHARED_DIR, "images", "cifar10");

/** The bound for float models: relative L2 of each image's output against LiteRT. */
const MAX_RELATIVE_L2 = 1e-5;

/** The first `count` CIFAR test images as raw NHWC pixels, 3072 bytes each. */
async function cifarPixels(count: number): Promise<Uint8Array> {
  const files = (await Deno.readTextFile(join(IMAGES, "labels.tsv"))).trim().split("\n")
    .slice(0, count).map((line) => line.split("\t")[0]);
  const pixels = new Uint8Array(count * 3072);
  for (const [n, file] of files.entries()) {
    pixels.set(decodeImage(await Deno.readFile(join(IMAGES, file))).data, n * 3072);
  }
  return pixels;
}

/** The models' input contracts (MLPerf Tiny): raw pixels as f32, or pixel - 128 as int8. */
function modelInput(pixels: Uint8Array, dtype: "f32" | "i8"): Float32Array | Int8Array {
  return dtype === "f32" ? Float32Array.from(pixels) : Int8Array.from(pixels, (p) => p - 128);
}

/** Runs `path` converted by resin on `backend` over `count` images; returns the flat output. */
async function runResin(
  path: string,
  input: Float32Array | Int8Array,
  count: number,
  backend: "cpu" | "gpu",
) {
  const bytes = await Deno.readFile(path);
  const { manifest, weights } = await convertTflite(bytes, { name: "resnet8", source: path });
  const model = await decodeModel(manifest, weights);
  const batch = 100;
  const session = await createSession(model, { backend, batch });
  const [x] = model.graph.inputs;
  const out: number[] = [];
  try {
    for (let first = 0; first < count; first += batch) {
      const dtype = input instanceof Float32Array ? "f32" : "i8";
      const chunk = input.subarray(first * 3072, (first + batch) * 3072);
      const outputs = await session.run({ [x.name]: makeTensor(dtype, [batch, 32, 32, 3], chunk) });
      out.push(...outputs[model.graph.outputs[0].name].data);
    }
  } finally {
    session.dispose();
  }
  return out;
}

const ready = HAS_SHARED && HAS_LITERT;
const HAS_GPU = await navigator.gpu?.requestAdapter().then((a) => a !== null, () => false);

for (const backend of ["cpu", "gpu"] as const) {
  Deno.test({
    name: `float ResNet-8 TFLite matches LiteRT within 1e-5 relative L2 per image on 1000 CIFAR ` +
      `images on the ${backend} (needs ../shared, LiteRT)`,
    ignore: !ready || (backend === "gpu" && !HAS_GPU),
    sanitizeResources: backend === "cpu",
    sanitizeOps: backend === "cpu",
    fn: async () => {
      const input = modelInput(await cifarPixels(1000), "f32");
      const reference = await runLitert(await Deno.readFile(FLOAT), input, [1, 32, 32, 3], 1000);
      const actual = await runResin(FLOAT, input, 1000, backend);
      let worst = 0;
      reference.forEach((row, n) => {
        const error = relativeL2(actual.slice(10 * n, 10 * n + 10), row);
        worst = Math.max(worst, error);
        assert.ok(error <= MAX_RELATIVE_L2, `image ${n}: relative L2 ${error}`);
      });
      console.log(`float ResNet-8 on the ${backend}: worst relative L2 ${worst.toExponential(2)}`);
    },
  });

  const count = 1000;
  Deno.test({
    name: `int8 ResNet-8 TFLite equals LiteRT bit for bit on ${count} CIFAR images on the ` +
      `${backend} (needs ../shared, LiteRT)`,
    ignore: !ready || (backend === "gpu" && !HAS_GPU),
    sanitizeResources: backend === "cpu",
    sanitizeOps: backend === "cpu",
    fn: async () => {
      const input = modelInput(await cifarPixels(count), "i8");
      const reference = await runLitert(await Deno.readFile(INT8), input, [1, 32, 32, 3], count);
      const actual = await runResin(INT8, input, count, backend);
      const mismatches = reference.flat().flatMap((v, i) => (v === actual[i] ? [] : [i]));
      assert.deepEqual(mismatches, [], `${mismatches.length} outputs differ from LiteRT's`);
    },
  });
}

/** The model with subgraph 0's (single) output replaced by tensor `tensor`. */
function withOutput(model: Uint8Array, tensor: number): Uint8Array {
  const bytes = model.slice();
  const [main] = rootTable(bytes, "Model").tables(2, "subgraphs");
  const { start, length } = main.vectorRange(2, 4, "outputs");
  assert.equal(length, 1);
  new DataView(bytes.buffer).setInt32(start, tensor, true);
  return bytes;
}

Deno.test({
  name: "int8 ResNet-8 TFLite: every intermediate tensor equals LiteRT's on 4 CIFAR images " +
    "(needs ../shared, LiteRT)",
  ignore: !ready,
  fn: async () => {
    const bytes = await Deno.readFile(INT8);
    const { graph } = importTflite(bytes);
    const input = modelInput(await cifarPixels(4), "i8") as Int8Array;
    const [main] = decodeTflite(bytes).subgraphs;
    const tensors = main.tensors;
    // Every tensor an operator writes; resin's value of each carries the tensor's name.
    const activations = main.operators.map((op) => op.outputs[0]);
    const probe = {
      ...graph,
      outputs: activations.map((t) => ({
        name: tensors[t].name,
        dtype: "i8" as const,
        shape: tensors[t].shape.map((d, i) => (i === 0 ? "N" : d)),
      })),
    };
    const values = runReference(probe, {
      [graph.inputs[0].name]: makeTensor("i8", [4, 32, 32, 3], input),
    });
    for (const t of activations) {
      const reference = await runLitert(withOutput(bytes, t), input, [1, 32, 32, 3], 4);
      const actual = [...values[tensors[t].name].data];
      assert.deepEqual(actual, reference.flat(), `tensor #${t} "${tensors[t].name}"`);
    }
  },
});

Deno.test({
  name: "eval of the converted int8 ResNet-8 reports LiteRT's top-1 on 100 CIFAR images, from " +
    "its int8 scores (needs ../shared, LiteRT)",
  ignore: !ready,
  fn: async () => {
    const bytes = await Deno.readFile(INT8);
    const dir = await Deno.makeTempDir();
    try {
      await writeModelDir(dir, await convertTflite(bytes, { name: "resnet8", source: INT8 }));
      const recipe = {
        resize: { mode: "exact", width: 32, height: 32, filter: "nearest" },
        scale: 1,
        mean: [0, 0, 0],
        std: [1, 1, 1],
        layout: "NHWC",
        dtype: "i8",
      };
      const report = await runEval({
        model: dir,
        images: IMAGES,
        labels: join(IMAGES, "labels.tsv"),
        preprocess: [JSON.stringify(recipe)],
        backend: "cpu",
        limit: 100,
        progress: { terminal: false, write: () => {} },
      });
      const labels = (await Deno.readTextFile(join(IMAGES, "labels.tsv"))).trim().split("\n")
        .slice(0, 100).map((line) => Number(line.split("\t")[1]));
      const input = modelInput(await cifarPixels(100), "i8");
      const reference = await runLitert(bytes, input, [1, 32, 32, 3], 100);
      // First index of the highest score, as eval ranks.
      const top1 = reference.filter((row, n) => row.indexOf(Math.max(...row)) === labels[n]);
      assert.equal(report.top1.correct, top1.length);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
