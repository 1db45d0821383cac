/**
 * End to end on the tiny zoo-synth fp32 models (../shared/models/zoo-synth): ONNX import,
 * conversion passes, weight-format round trip, then a session on each backend, compared with
 * onnxruntime on seeded random inputs. Every model listed must pass; none is skipped. Prints
 * each comparison's error and the plan's arena size against its lower bound.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { runReference } from "../src/executor/reference.ts";
import { createSession } from "../src/executor/session.ts";
import type { GpuContext } from "../src/executor/gpu_device.ts";
import { conversionPasses } from "../src/graph/passes/pipelines.ts";
import type { Graph, Tensor } from "../src/graph/types.ts";
import { importOnnx } from "../src/onnx/import.ts";
import { gpuTest } from "../src/testing/gpu.ts";
import { relativeL2 } from "../src/testing/tolerance.ts";
import { decodeModel, type LoadedModel } from "../src/weights/decode.ts";
import { encodeModel } from "../src/weights/encode.ts";
import { argmaxRows, MAX_RELATIVE_L2, randomInputs, runOrt } from "./_model_compare.ts";

const ZOO = new URL("../../shared/models/zoo-synth/", import.meta.url).pathname;
const HAVE_SHARED = (() => {
  try {
    return Deno.statSync(ZOO).isDirectory;
  } catch {
    return false;
  }
})();

/*
 * Error budgets, in relative L2 of a whole output, around `MAX_RELATIVE_L2` (the 1e-5,
 * from _model_compare.ts).
 *
 * Every runtime rounds each activation to f32 and sums in its own order, and deep models
 * amplify that: on resnet152-v2 tiny onnxruntime is 2.6e-5 from the float64-accumulating
 * reference interpreter, and folding BatchNorm into f32 weights (our conversion, and
 * onnxruntime's own optimiser) moves the output by 1.5e-5 by itself. So each comparison
 * with onnxruntime gets `MAX_RELATIVE_L2` plus the two measured noises of this very input:
 * onnxruntime against the reference on the imported graph, and the reference on the
 * converted graph against the reference on the imported graph. Where both are small (ResNet-18:
 * under 1e-6) the bound is about 1e-5.
 *
 * The session is also held to `MAX_RELATIVE_L2` against the reference interpreter on the
 * same converted graph, with no noise added: that is the executor's own error.
 */

interface ZooModel {
  /** File name in zoo-synth. */
  file: string;
  /** Batch sizes to run. */
  batches: number[];
  /** Range of the uniform random inputs: ImageNet-normalised values, or pixels / 255. */
  range: [number, number];
}

const IMAGENET: [number, number] = [-2, 2];
const MODELS: ZooModel[] = [
  ...[18, 34, 50, 101, 152].flatMap((depth) =>
    [1, 2].map((v) => ({
      file: `resnet${depth}-v${v}-7-tiny-synth.onnx`,
      batches: [1, 2],
      range: IMAGENET,
    }))
  ),
  { file: "resnet50-v1-12-tiny-synth.onnx", batches: [1, 2], range: IMAGENET },
  // Reshapes to a fixed [1, 2048] and declares a [1, 1000] output: batch 1 only.
  { file: "resnet50-caffe2-v1-9-tiny-synth.onnx", batches: [1], range: IMAGENET },
  // Its input is declared [1, 3, 32, 32]: batch 1 only.
  { file: "preresnet18_a025_pt_224-tiny-synth.onnx", batches: [1], range: [0, 1] },
];

/** A model as imported, and after conversion and a round trip through the weight format. */
interface Prepared {
  imported: Graph;
  model: LoadedModel;
}

/** What a session's outputs are compared with at one batch size. */
interface Expected {
  inputs: Record<string, Tensor>;
  /** onnxruntime's outputs by name. */
  ort: Record<string, Float32Array>;
  /** The reference interpreter's outputs on the converted graph. */
  converted: Record<string, Tensor>;
  /** relativeL2(onnxruntime, reference on the imported graph) by output name. */
  ortNoise: Record<string, number>;
  /** relativeL2(reference on the converted graph, reference on the imported one). */
  conversionNoise: Record<string, number>;
}

const prepared = new Map<string, Promise<Prepared>>();
const expectations = new Map<string, Promise<Expected>>();

/** Imports, converts and round-trips a model through the weight format; memoised per file. */
function prepare(file: string): Promise<Prepared> {
  let result = prepared.get(file);
  if (!result) {
    result = (async () => {
      const { graph: imported } = importOnnx(await Deno.readFile(join(ZOO, file)));
      const converted = conversionPasses(imported);
      const { manifest, weights } = await encodeModel(converted, {
        name: converted.name,
        provenance: {
          source: file,
          sha256: "0".repeat(64),
          sourceFormat: "onnx",
          converter: "test",
        },
      });
      const model = await decodeModel(JSON.parse(JSON.stringify(manifest)), weights);
      return { imported, model };
    })();
    prepared.set(file, result);
  }
  return result;
}

/** Seeded inputs, onnxruntime's outputs and its noise at `batch`; memoised per file and batch. */
function expect(spec: ZooModel, batch: number): Promise<Expected> {
  const key = `${spec.file} ${batch}`;
  let result = expectations.get(key);
  if (!result) {
    result = (async () => {
      const { imported, model } = await prepare(spec.file);
      const inputs = randomInputs(imported, batch, spec.range, 1000 * batch + spec.file.length);
      const [ort] = await runOrt(join(ZOO, spec.file), [inputs]);
      const reference = runReference(imported, inputs);
      const converted = runReference(model.graph, inputs);
      const noise = (of: (name: string) => ArrayLike<number>) =>
        Object.fromEntries(
          Object.keys(ort).map((name) => [name, relativeL2(of(name), reference[name].data)]),
        );
      return {
        inputs,
        ort,
        converted,
        ortNoise: noise((name) => ort[name]),
        conversionNoise: noise((name) => converted[name].data),
      };
    })();
    expectations.set(key, result);
  }
  return result;
}

async function compareWithOrt(spec: ZooModel, backend: "cpu" | "gpu", gpu?: GpuContext) {
  const { model } = await prepare(spec.file);
  for (const batch of spec.batches) {
    const { inputs, ort, converted, ortNoise, conversionNoise } = await expect(spec, batch);
    const session = await createSession(model, { backend, batch, gpu });
    try {
      const actual = await session.run(inputs);
      for (const { name } of model.graph.outputs) {
        const what = `${spec.file} ${backend} batch ${batch} output "${name}"`;
        const own = relativeL2(actual[name].data, converted[name].data);
        const error = relativeL2(actual[name].data, ort[name]);
        const ownBound = MAX_RELATIVE_L2 + ortNoise[name];
        const bound = ownBound + conversionNoise[name];
        const { plannedBytes, lowerBoundBytes } = session.memory;
        const e = (x: number) => x.toExponential(2);
        console.log(
          `${what}: relative L2 ${e(own)} to the reference (bound ${e(ownBound)}), ` +
            `${e(error)} to onnxruntime (bound ${e(bound)}); noise: onnxruntime ` +
            `${e(ortNoise[name])}, conversion ${e(conversionNoise[name])}; arena ` +
            `${plannedBytes} B, lower bound ${lowerBoundBytes} B`,
        );
        assert.ok(own <= ownBound, `${what}: relative L2 ${own} to the reference`);
        assert.ok(error <= bound, `${what}: relative L2 ${error} to onnxruntime`);
        assert.deepEqual(argmaxRows(actual[name].data, batch), argmaxRows(ort[name], batch), what);
      }
    } finally {
      session.dispose();
    }
  }
}

for (const spec of MODELS) {
  const name = `${spec.file} matches onnxruntime`;
  Deno.test({
    name: `${name} on the CPU (needs ../shared)`,
    ignore: !HAVE_SHARED,
    fn: () => compareWithOrt(spec, "cpu"),
  });
  if (HAVE_SHARED) {
    gpuTest(`${name} on the GPU (needs ../shared)`, ({ gpu }) => compareWithOrt(spec, "gpu", gpu));
  } else {
    Deno.test({ name: `${name} on the GPU (needs ../shared)`, ignore: true, fn: () => {} });
  }
}

Deno.test({
  name: "The fixed-batch zoo models refuse batch 2 with an error (needs ../shared)",
  ignore: !HAVE_SHARED,
  fn: async () => {
    const { model } = await prepare("preresnet18_a025_pt_224-tiny-synth.onnx");
    await assert.rejects(
      createSession(model, { backend: "cpu", batch: 2 }),
      /Input "input" has a fixed batch of 1 \(shape \[1,3,32,32\]\); batch 2 cannot be used/,
    );
    const caffe2 = await prepare("resnet50-caffe2-v1-9-tiny-synth.onnx");
    await assert.rejects(createSession(caffe2.model, { backend: "cpu", batch: 2 }));
  },
});
