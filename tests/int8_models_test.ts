/**
 * End to end on the int8 models of ../shared (docs/INT8.md): the real MobileNetV2 (QOperator)
 * and ShuffleNetV2 (QDQ) on the reference inputs of their test data sets and on a handful of
 * photos, and the zoo generator's tiny ResNet50 int8 / QDQ and PreResNet18 QDQ models and
 * its full-size (224x224) ResNet50 int8 on seeded inputs. Each model goes through qdqToQOperator, the conversion passes, lowerInt8 and
 * the weight format, then runs on the CPU and on the GPU; its output and the quantized tensor
 * before the final DequantizeLinear must equal onnxruntime's bit for bit (and the recorded
 * output_0.pb of a test data set), so top-1 agrees.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import type { GpuContext } from "../src/executor/gpu_device.ts";
import { createSession } from "../src/executor/session.ts";
import { lowerInt8 } from "../src/graph/passes/lower_int8.ts";
import { conversionPasses } from "../src/graph/passes/pipelines.ts";
import { qdqToQOperator } from "../src/graph/passes/qdq_to_qoperator.ts";
import { inferGraphTypes } from "../src/graph/shape_inference.ts";
import { type Graph, makeTensor, type Tensor } from "../src/graph/types.ts";
import { decodeImage, preprocessImage } from "../src/image/mod.ts";
import { importOnnx } from "../src/onnx/import.ts";
import { DATA_TYPE, decodeModel, encodeModel as encodeOnnx } from "../src/onnx/onnx_proto.ts";
import { decodeTensorPb } from "../src/onnx/tensor_pb.ts";
import { gpuTest } from "../src/testing/gpu.ts";
import { randomTensor, seededRandom } from "../src/testing/random.ts";
import { assertClose, TOLERANCES } from "../src/testing/tolerance.ts";
import { decodeModel as decodeWeights, type LoadedModel } from "../src/weights/decode.ts";
import { encodeModel as encodeWeights } from "../src/weights/encode.ts";
import { PREPROCESS_PRESETS } from "../src/weights/preprocess.ts";
import { zooModel, zooModelUnavailable } from "./_zoo.ts";

const SHARED = new URL("../../shared/", import.meta.url).pathname;
const HAVE_SHARED = (() => {
  try {
    return Deno.statSync(join(SHARED, "models")).isDirectory;
  } catch {
    return false;
  }
})();

/** Photos besides the test data sets: a colour photo, ImageNet samples, a grayscale one. */
const PHOTOS = [
  "n02111889_Samoyed.JPEG",
  "n01440764_tench.JPEG",
  "n03992509_potter's_wheel.JPEG",
  "n02096051_Airedale.JPEG",
];

interface Int8Model {
  /** Path under ../shared/models, or the label of a full-size zoo model (`zoo`). */
  file: string;
  /** The zoo model made on demand by tests/_zoo.ts instead of a file in ../shared/models. */
  zoo?: string;
  /** Folder of `test_data_set_*` (and photos through the imagenet preset), or seeded inputs. */
  data: { sets: string } | { batches: number[]; range: [number, number] };
}

const MODELS: Int8Model[] = [
  { file: "mobilenetv2-12-int8.onnx", data: { sets: "mobilenetv2-12-int8" } },
  { file: "shufflenet-v2-12-qdq.onnx", data: { sets: "shufflenet-v2-12-qdq" } },
  {
    file: "zoo-synth/resnet50-v1-12-int8-tiny-synth.onnx",
    data: { batches: [1, 2], range: [-2, 2] },
  },
  {
    file: "zoo-synth/resnet50-v1-12-qdq-tiny-synth.onnx",
    data: { batches: [1, 2], range: [-2, 2] },
  },
  {
    file: "resnet50-v1-12-int8-synth.onnx (full size, 224x224)",
    zoo: "resnet50-v1-12-int8",
    data: { batches: [1, 2], range: [-2, 2] },
  },
  // uint8 NHWC image input; the generator fixes the batch at 1.
  {
    file: "zoo-synth/preresnet18_a025_pt_224_qdq_int8-tiny-synth.onnx",
    data: { batches: [1], range: [0, 256] },
  },
];

/** The value a final DequantizeLinear (possibly followed by a bias Add) reads. */
function quantizedOutput(graph: Graph): string {
  const producer = (name: string) => graph.nodes.find((n) => n.outputs.includes(name));
  let node = producer(graph.outputs[0].name);
  if (node?.op === "Add") {
    node = node.inputs.map(producer).find((n) => n?.op === "DequantizeLinear");
  }
  if (node?.op !== "DequantizeLinear") {
    throw new Error(`${graph.name}: the output is not made by a final DequantizeLinear`);
  }
  return node.inputs[0];
}

/** The model in both forms, with the quantized tensor as a second output of each. */
interface Prepared {
  onnx: Uint8Array;
  model: LoadedModel;
  input: string;
  output: string;
  quantized: string;
}

const prepared = new Map<string, Promise<Prepared>>();
function prepare(spec: Int8Model): Promise<Prepared> {
  const { file } = spec;
  let result = prepared.get(file);
  if (!result) {
    result = (async () => {
      const path = spec.zoo ? await zooModel(spec.zoo) : join(SHARED, "models", file);
      const bytes = await Deno.readFile(path);
      const qop = qdqToQOperator(importOnnx(bytes).graph);
      const quantized = quantizedOutput(qop);
      const type = inferGraphTypes(qop, { batch: 1 }).get(quantized)!;
      const batch = qop.inputs[0].shape[0];
      const graph: Graph = {
        ...qop,
        outputs: [...qop.outputs, {
          name: quantized,
          dtype: type.dtype,
          shape: [batch, ...type.shape.slice(1)],
        }],
      };
      const onnx = decodeModel(bytes);
      onnx.graph!.outputs.push({
        name: quantized,
        elemType: type.dtype === "u8" ? DATA_TYPE.UINT8 : DATA_TYPE.INT8,
      });
      const lowered = lowerInt8(conversionPasses(graph));
      const { manifest, weights } = await encodeWeights(lowered, {
        name: lowered.name,
        provenance: {
          source: file,
          sha256: "0".repeat(64),
          sourceFormat: "onnx",
          converter: "test",
        },
      });
      return {
        onnx: encodeOnnx(onnx),
        model: await decodeWeights(JSON.parse(JSON.stringify(manifest)), weights),
        input: graph.inputs[0].name,
        output: graph.outputs[0].name,
        quantized,
      };
    })();
    prepared.set(file, result);
  }
  return result;
}

/** One input: its label, tensor, and the model output recorded with it (test data sets). */
interface Case {
  label: string;
  input: Tensor;
  recorded?: Tensor;
}

/** Inputs for a model: test data sets and photos, or seeded random batches. */
async function inputsFor(spec: Int8Model, p: Prepared): Promise<Case[]> {
  const data = spec.data;
  if ("sets" in data) {
    const sets = [0, 1].map(async (i): Promise<Case> => {
      const dir = join(SHARED, "models", data.sets, `test_data_set_${i}`);
      const input = decodeTensorPb(await Deno.readFile(join(dir, "input_0.pb"))).tensor;
      const recorded = decodeTensorPb(await Deno.readFile(join(dir, "output_0.pb"))).tensor;
      return { label: `test_data_set_${i}`, input, recorded };
    });
    const photos = PHOTOS.map(async (photo): Promise<Case> => {
      const image = decodeImage(await Deno.readFile(join(SHARED, "images", photo)));
      return { label: photo, input: preprocessImage(image, PREPROCESS_PRESETS.imagenet) };
    });
    return await Promise.all([...sets, ...photos]);
  }
  const info = p.model.graph.inputs[0];
  return data.batches.map((batch) => {
    const shape = info.shape.map((d) => (typeof d === "number" ? d : batch));
    const dtype = info.dtype === "u8" ? "u8" : "f32";
    return {
      label: `batch ${batch}`,
      input: randomTensor(seededRandom(batch), dtype, shape, ...data.range),
    };
  });
}

const ORT_TYPES = { f32: "float32", u8: "uint8", i8: "int8" } as const;

async function runOrt(p: Prepared, input: Tensor): Promise<Record<string, Tensor>> {
  const session = await ort.InferenceSession.create(p.onnx);
  try {
    const type = ORT_TYPES[input.dtype as keyof typeof ORT_TYPES];
    const results = await session.run({
      [p.input]: new ort.Tensor(type, input.data as Float32Array, input.shape),
    });
    return Object.fromEntries(
      Object.entries(results).map(([name, t]) => {
        const dtype = t.type === "float32" ? "f32" : t.type === "uint8" ? "u8" : "i8";
        return [name, makeTensor(dtype, t.dims.map(Number), t.data as ArrayLike<number>)];
      }),
    );
  } finally {
    await session.release();
  }
}

function argmaxRows(data: ArrayLike<number>, rows: number): number[] {
  const width = data.length / rows;
  return Array.from({ length: rows }, (_, r) => {
    let best = 0;
    for (let i = 1; i < width; i++) if (data[r * width + i] > data[r * width + best]) best = i;
    return best;
  });
}

async function compareWithOrt(spec: Int8Model, backend: "cpu" | "gpu", gpu?: GpuContext) {
  const p = await prepare(spec);
  for (const { label, input, recorded } of await inputsFor(spec, p)) {
    const batch = input.shape[0];
    const expected = await runOrt(p, input);
    const session = await createSession(p.model, { backend, batch, gpu });
    try {
      const actual = await session.run({ [p.input]: input });
      const what = `${spec.file} ${backend} ${label}`;
      for (const name of [p.quantized, p.output]) {
        assert.deepEqual(actual[name].shape, expected[name].shape, `${what} ${name} shape`);
        assertClose(actual[name].data, expected[name].data, TOLERANCES.exact, `${what} ${name}`);
      }
      if (recorded) {
        assertClose(actual[p.output].data, recorded.data, TOLERANCES.exact, `${what} output_0.pb`);
      }
      assert.deepEqual(
        argmaxRows(actual[p.output].data, batch),
        argmaxRows(expected[p.output].data, batch),
        `${what} top-1`,
      );
    } finally {
      session.dispose();
    }
  }
}

for (const spec of MODELS) {
  const name = `${spec.file} equals onnxruntime bit for bit`;
  const why = HAVE_SHARED ? spec.zoo && zooModelUnavailable(spec.zoo) : "no ../shared";
  if (why) console.warn(`${spec.file} tests are ignored: ${why}`);
  Deno.test({
    name: `${name} on the CPU (needs ../shared)`,
    ignore: Boolean(why),
    fn: () => compareWithOrt(spec, "cpu"),
  });
  if (!why) {
    gpuTest(`${name} on the GPU (needs ../shared)`, ({ gpu }) => compareWithOrt(spec, "gpu", gpu));
  } else {
    Deno.test({ name: `${name} on the GPU (needs ../shared)`, ignore: true, fn: () => {} });
  }
}
