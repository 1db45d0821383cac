/**
 * The runtimes the model benchmark compares, behind one interface: resin on the GPU and on
 * the CPU path with one thread and with two (createSession on the converted model), onnxruntime-web with its wasm (one
 * thread) and webgpu backends, and onnxruntime-node with one intra-op thread and with its
 * default thread count.
 *
 * @module
 */

import * as ortNode from "onnxruntime-node";
import * as ortWeb from "onnxruntime-web";
import * as ortWebGpu from "onnxruntime-web/webgpu";
import { createSession } from "../src/executor/session.ts";
import type { StoragePrecision } from "../src/ops/op.ts";
import type { MemoryReport } from "../src/executor/plan.ts";
import { decodeModel } from "../src/weights/decode.ts";
import { setCpuThreads } from "../src/wasm/cpu_threads.ts";

// The wasm backends run on one thread: the comparison with resin's CPU path is per thread.
ortWeb.env.wasm.numThreads = 1;
ortWebGpu.env.wasm.numThreads = 1;

/** onnxruntime package versions, for the report. */
export const ORT_VERSIONS = {
  web: ortWeb.env.versions.web ?? "unknown",
  node: ortNode.env.versions.node ?? "unknown",
};

/** The benchmark's input element types: f32, or bytes (ST's int8 PreResNet takes u8 NHWC). */
export type BenchInputType = "f32" | "u8";

/** An input of `BenchInputType`'s data. */
export type BenchInput = Float32Array | Uint8Array;

/** A model as every runtime receives it; one f32 or u8 input, outputs compared as f32. */
export interface BenchModel {
  /** make_models.py name, e.g. "resnet50-v1-12". */
  name: string;
  /** The ONNX file's bytes. */
  onnx: Uint8Array;
  /** resin's conversion (manifest JSON text and weights), or why resin cannot convert it. */
  resin: { manifestJson: string; weights: Uint8Array } | { unsupported: string };
  /** The single input's name, concrete shape (batch 1) and element type. */
  inputName: string;
  inputShape: number[];
  inputType: BenchInputType;
}

/** A model loaded in one runtime. */
export interface LoadedModel {
  /** Runs the model on `input` and returns its first output's data as f32. */
  run(input: BenchInput): Promise<Float32Array>;
  /** resin's planned activation memory; absent for other runtimes. */
  memory?: MemoryReport;
  /** Frees the session. */
  release(): Promise<void>;
}

/** A runtime under test. */
export interface Runtime {
  /** Short id, e.g. "resin-gpu" (the `--runtimes` names). */
  id: string;
  /** Why it cannot run `model` at all (reported as skipped), or `undefined`. */
  unsupported(model: BenchModel): string | undefined;
  /** Loads `model`; the time of this call plus the first run is the cold start. */
  load(model: BenchModel): Promise<LoadedModel>;
}

/**
 * resin with `backend`: decode the converted model, then createSession; the CPU path on
 * `threads` threads (`setCpuThreads`, set before loading); the GPU's operand copies stored as
 * `gpuStorage` (opt-in f16).
 */
function resinRuntime(
  backend: "gpu" | "cpu",
  threads = 1,
  gpuStorage: StoragePrecision = "f32",
): Runtime {
  const suffix = threads > 1 ? `-${threads}t` : gpuStorage === "f16" ? "-f16" : "";
  return {
    id: `resin-${backend}${suffix}`,
    unsupported: (model) => "unsupported" in model.resin ? model.resin.unsupported : undefined,
    async load(model) {
      if ("unsupported" in model.resin) throw new Error(model.resin.unsupported);
      setCpuThreads(threads);
      const { graph } = await decodeModel(
        JSON.parse(model.resin.manifestJson),
        model.resin.weights,
      );
      const session = await createSession({ graph }, {
        backend,
        gpuStorage,
        batch: model.inputShape[0],
      });
      const output = graph.outputs[0].name;
      return {
        memory: session.memory,
        async run(input) {
          const tensor = { dtype: model.inputType, shape: model.inputShape, data: input };
          const outputs = await session.run({ [model.inputName]: tensor });
          return asF32(outputs[output].data);
        },
        release: () => Promise.resolve(session.dispose()),
      };
    },
  };
}

/** Output data as f32 (a copy where it has another element type). */
function asF32(data: unknown): Float32Array {
  return data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
}

/** The part of an onnxruntime package the benchmark uses (web and node share it). */
type Ort = Pick<typeof ortWeb, "InferenceSession" | "Tensor">;

/** onnxruntime package `ort` with session `options`. */
function ortRuntime(
  id: string,
  ort: Ort,
  options: ortWeb.InferenceSession.SessionOptions,
): Runtime {
  return {
    id,
    unsupported: () => undefined,
    async load(model) {
      const session = await ort.InferenceSession.create(model.onnx, {
        graphOptimizationLevel: "all",
        logSeverityLevel: 3,
        ...options,
      });
      const output = session.outputNames[0];
      return {
        async run(input) {
          const tensor = input instanceof Uint8Array
            ? new ort.Tensor("uint8", input, model.inputShape)
            : new ort.Tensor("float32", input, model.inputShape);
          const outputs = await session.run({ [model.inputName]: tensor });
          return asF32(outputs[output].data);
        },
        release: () => session.release(),
      };
    },
  };
}

/** Every runtime, in the order they run; onnxruntime-node first, as the reference. */
export const RUNTIMES: readonly Runtime[] = [
  ortRuntime("ort-node", ortNode, { executionProviders: ["cpu"] }),
  ortRuntime("ort-node-1t", ortNode, {
    executionProviders: ["cpu"],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  }),
  ortRuntime("ort-web-wasm", ortWeb, { executionProviders: ["wasm"] }),
  ortRuntime("ort-web-webgpu", ortWebGpu, { executionProviders: ["webgpu"] }),
  resinRuntime("cpu"),
  resinRuntime("cpu", 2),
  resinRuntime("gpu"),
  resinRuntime("gpu", 1, "f16"),
];

/** The runtime whose output every other is compared with. */
export const REFERENCE_RUNTIME = "ort-node";

/**
 * The single f32 or u8 input of the ONNX model `onnx` (read by onnxruntime-node), its symbolic
 * leading (batch) dim bound to `batch` and any other symbolic dim to 1. Throws for models with
 * several inputs or another element type, and for a fixed batch other than `batch`.
 */
export async function ortInput(
  onnx: Uint8Array,
  batch = 1,
): Promise<{ name: string; shape: number[]; type: BenchInputType }> {
  const session = await ortNode.InferenceSession.create(onnx, { logSeverityLevel: 3 });
  try {
    const inputs = session.inputMetadata;
    const types: Record<string, BenchInputType> = { float32: "f32", uint8: "u8" };
    if (inputs.length !== 1 || !inputs[0].isTensor || !(inputs[0].type in types)) {
      const found = inputs.map((i) => `${i.name} (${i.isTensor ? i.type : "not a tensor"})`);
      throw new Error(
        `The benchmark needs one float32 or uint8 input; the model has ${found.join(", ")}`,
      );
    }
    const input = inputs[0];
    const shape = input.shape.map((d, i) => (typeof d === "number" ? d : i === 0 ? batch : 1));
    if (shape[0] !== batch) {
      throw new Error(
        `The model's input ${input.name} has a fixed batch of ${shape[0]}, not ${batch}`,
      );
    }
    return { name: input.name, shape, type: types[(input as { type: string }).type] };
  } finally {
    await session.release();
  }
}
