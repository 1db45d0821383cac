/**
 * The model benchmark: full-size zoo-synth models (224x224, batch 1 or `--batch`) on resin
 * GPU, resin CPU, onnxruntime-web wasm (one thread) and webgpu, and onnxruntime-node (one
 * intra-op thread, and its default), in one process on the same seeded input.
 *
 * ```sh
 * deno task bench:models [--models resnet18-v1-7,resnet50-v1-12,...] [--runs N] [--warmup N]
 *   [--runtimes resin-gpu,ort-web-webgpu,...] [--batch N] [--seed N] [--json out.json]
 *   [--svg chart.svg]
 * ```
 *
 * Per model and runtime: the cold start (load + compile + first run, from the model's bytes
 * in memory; resin's conversion from ONNX is an offline step, timed and reported apart), then
 * `--warmup` untimed runs and `--runs` timed ones (wall clock around each run call, input
 * upload and output readback included): median, min and p90. Each runtime's first output is
 * compared with onnxruntime-node's (relative L2). Prints one table per model with the ratio
 * of every runtime's median to every other's, resin's planned activation memory, and writes
 * the JSON report and the SVG chart when asked. A runtime that cannot run a model (resin
 * without a kernel for an int8 op, say) is reported with its reason; the others go on.
 *
 * Models come from tests/_zoo.ts: `.cache/zoo/<name>-synth.onnx`, made on demand; a name
 * ending in `.onnx` is read as that file instead (the real int8 models in ../shared/models).
 *
 * @module
 */

import { errorMessage } from "../src/errors.ts";
import { basename } from "node:path";
import { parseArgs } from "node:util";
import denoJson from "../deno.json" with { type: "json" };
import type { MemoryReport } from "../src/executor/plan.ts";
import { convertOnnx } from "../src/onnx/convert_model.ts";
import { randomTensor, seededRandom } from "../src/testing/random.ts";
import { relativeL2 } from "../src/testing/tolerance.ts";
import { zooModel } from "../tests/_zoo.ts";
import { renderBarChart } from "./chart.ts";
import { type MachineInfo, machineInfo, machineLine } from "./machine.ts";
import {
  type BenchInput,
  type BenchModel,
  ORT_VERSIONS,
  ortInput,
  REFERENCE_RUNTIME,
  type Runtime,
  RUNTIMES,
} from "./model_runtimes.ts";
import { summarize, type Summary } from "./stats.ts";
import { fmt, formatTable } from "./table.ts";

const USAGE = "usage: deno task bench:models [--models a,b] [--runs N] [--warmup N] " +
  "[--runtimes a,b] [--batch N] [--seed N] [--json out.json] [--svg chart.svg]";

const DEFAULT_MODELS = [
  "resnet18-v1-7",
  "resnet50-v1-12",
  "resnet50-v1-12-int8",
  "preresnet18_a025_pt_224",
];

/** One runtime's result on one model. */
export interface RuntimeResult {
  /** Runtime id. */
  runtime: string;
  /** `ok`; `skipped` when the runtime cannot take the model; `failed` when it threw. */
  status: "ok" | "skipped" | "failed";
  /** Why it was skipped or failed. */
  reason?: string;
  /** Load + compile + first run, ms. */
  coldMs?: number;
  /** Timed runs after warm-up, ms. */
  steady?: Summary;
  /** Relative L2 of the first output against onnxruntime-node's. */
  relL2?: number;
  /** resin's planned activation memory. */
  memory?: MemoryReport;
}

/** Everything measured on one model. */
export interface ModelResult {
  /** make_models.py name. */
  name: string;
  /** The input's name and shape. */
  input: { name: string; shape: number[]; range: [number, number] };
  /** resin's ONNX conversion time, ms (offline step, not part of the cold start). */
  convertMs?: number;
  /** One entry per runtime, in run order. */
  results: RuntimeResult[];
}

/** The JSON report. */
export interface ModelReport {
  /** ISO time of the run. */
  date: string;
  /** The machine. */
  machine: MachineInfo;
  /** Versions of everything compared. */
  versions: {
    deno: string;
    v8: string;
    resin: string;
    onnxruntimeWeb: string;
    onnxruntimeNode: string;
  };
  /** Timed runs, warm-up runs, input seed and batch size. */
  config: { runs: number; warmup: number; seed: number; batch: number };
  /** Per model. */
  models: ModelResult[];
}

/**
 * Range of the seeded uniform inputs: the STM PreResNet takes pixels / 255, the zoo ResNets
 * ImageNet-normalised pixels (about [-2.1, 2.6]).
 */
function inputRange(model: string): [number, number] {
  return model.startsWith("preresnet") ? [0, 1] : [-2, 2];
}

/**
 * Runs V8's garbage collector where `--v8-flags=--expose-gc` exposes it (`deno task
 * bench:models` passes it), so that no runtime's cold start pays for the garbage of the
 * runtimes measured before it (resin's CPU path on ResNet-50 after the onnxruntime ones:
 * 466 -> 333 ms; onnxruntime's own heaps are outside V8's and moved within noise).
 */
function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/**
 * Cold start, steady runs and the first output of `runtime` on `model`: load and run once
 * (timed together), `config.warmup` untimed runs, `config.runs` timed ones. A throw becomes a
 * `failed` result with its message; the loaded model is always released.
 */
export async function measure(
  runtime: Runtime,
  model: BenchModel,
  input: BenchInput,
  config: ModelReport["config"],
): Promise<{ result: RuntimeResult; output?: Float32Array }> {
  const unsupported = runtime.unsupported(model);
  if (unsupported) {
    return { result: { runtime: runtime.id, status: "skipped", reason: unsupported } };
  }
  collectGarbage();
  const start = performance.now();
  let loaded;
  try {
    loaded = await runtime.load(model);
    const output = (await loaded.run(input)).slice();
    const coldMs = performance.now() - start;
    for (let i = 0; i < config.warmup; i++) await loaded.run(input);
    const times: number[] = [];
    for (let i = 0; i < config.runs; i++) {
      const t = performance.now();
      await loaded.run(input);
      times.push(performance.now() - t);
    }
    const result: RuntimeResult = {
      runtime: runtime.id,
      status: "ok",
      coldMs,
      steady: summarize(times),
      memory: loaded.memory,
    };
    return { result, output };
  } catch (err) {
    return { result: { runtime: runtime.id, status: "failed", reason: errorMessage(err) } };
  } finally {
    await loaded?.release();
  }
}

/**
 * Reads (or makes) the zoo model `spec`, or the ONNX file `spec` where it ends in `.onnx`,
 * converts it for resin and reads its input, for `batch` images.
 */
async function prepareModel(
  spec: string,
  batch: number,
): Promise<{ model: BenchModel; convertMs?: number }> {
  const file = spec.endsWith(".onnx") ? spec : await zooModel(spec);
  const name = spec.endsWith(".onnx") ? basename(spec, ".onnx") : spec;
  const onnx = await Deno.readFile(file);
  const input = await ortInput(onnx, batch);
  const start = performance.now();
  let resin: BenchModel["resin"];
  let convertMs: number | undefined;
  try {
    const { manifest, weights } = await convertOnnx(onnx, { name, source: basename(file) });
    resin = { manifestJson: JSON.stringify(manifest), weights };
    convertMs = performance.now() - start;
  } catch (err) {
    resin = { unsupported: `resin cannot convert it: ${errorMessage(err)}` };
  }
  return {
    model: {
      name,
      onnx,
      resin,
      inputName: input.name,
      inputShape: input.shape,
      inputType: input.type,
    },
    convertMs,
  };
}

/** Runs every runtime of `runtimes` on the model `name`, printing progress. */
async function benchModel(
  name: string,
  runtimes: readonly Runtime[],
  config: ModelReport["config"],
): Promise<ModelResult> {
  const { model, convertMs } = await prepareModel(name, config.batch);
  const range = model.inputType === "u8" ? [0, 256] as [number, number] : inputRange(name);
  const input = randomTensor(seededRandom(config.seed), model.inputType, model.inputShape, ...range)
    .data as BenchInput;
  const results: RuntimeResult[] = [];
  let reference: Float32Array | undefined;
  const outputs = new Map<string, Float32Array>();
  for (const runtime of runtimes) {
    const { result, output } = await measure(runtime, model, input, config);
    if (output) outputs.set(runtime.id, output);
    if (runtime.id === REFERENCE_RUNTIME) reference = output;
    results.push(result);
    console.log(`  ${name} ${runtime.id}: ${progressLine(result)}`);
  }
  for (const result of results) {
    const output = outputs.get(result.runtime);
    if (output && reference) result.relL2 = relativeL2(output, reference);
  }
  return {
    name: model.name,
    input: { name: model.inputName, shape: model.inputShape, range },
    convertMs,
    results,
  };
}

/** One line on a finished runtime. */
function progressLine(r: RuntimeResult): string {
  if (r.status !== "ok") return `${r.status}: ${r.reason}`;
  return `cold ${fmt(r.coldMs)} ms, median ${fmt(r.steady!.median)} ms`;
}

/** First `max` characters of `reason`, for tables and the chart. */
function short(reason = "", max = 90): string {
  const line = reason.split("\n")[0];
  return line.length > max ? `${line.slice(0, max - 3)}...` : line;
}

/**
 * The table of one model: times, error, memory, and the ratio of medians to each peer; then
 * one line per runtime that was skipped or failed, with the reason.
 */
export function modelTable(m: ModelResult): string {
  const ok = m.results.filter((r) => r.status === "ok");
  const header = [
    "runtime",
    "cold ms",
    "median ms",
    "min ms",
    "p90 ms",
    `rel L2 vs ${REFERENCE_RUNTIME}`,
    "activations MB",
    ...ok.map((p) => `x ${p.runtime}`),
  ];
  const rows = ok.map((r) => {
    const s = r.steady!;
    const tex = r.memory?.scratchTextureBytes;
    const mb = r.memory &&
      `${fmt(r.memory.plannedBytes / 2 ** 20)}${tex ? ` + ${fmt(tex / 2 ** 20)} textures` : ""} ` +
        `(bound ${fmt(r.memory.lowerBoundBytes / 2 ** 20)})`;
    return [
      r.runtime,
      fmt(r.coldMs),
      fmt(s.median),
      fmt(s.min),
      fmt(s.p90),
      r.runtime === REFERENCE_RUNTIME ? "reference" : fmt(r.relL2, 2),
      mb ?? "-",
      ...ok.map((p) => `${fmt(s.median / p.steady!.median)}x`),
    ];
  });
  const others = m.results.filter((r) => r.status !== "ok")
    .map((r) => `${r.runtime} ${r.status}: ${short(r.reason, 300)}`);
  return [formatTable(header, rows), ...others].join("\n");
}

/** The chart of `report`: steady median and cold start per model and runtime. */
export function reportChart(report: ModelReport): string {
  const v = report.versions;
  return renderBarChart({
    title: `resin vs onnxruntime: ResNet inference, batch ${report.config.batch}, 224x224`,
    notes: [
      machineLine(report.machine),
      `deno ${v.deno}, resin ${v.resin}, onnxruntime-web ${v.onnxruntimeWeb}, ` +
      `onnxruntime-node ${v.onnxruntimeNode}; ${report.date}`,
      `Median of ${report.config.runs} runs after ${report.config.warmup} warm-up; cold start = ` +
      `load + compile + first run. Bars are scaled per model; shorter is faster.`,
    ],
    panels: ["steady median (ms)", "cold start (ms)"],
    groups: report.models.map((m) => ({
      label: m.name,
      bars: m.results.map((r) => ({
        label: r.runtime,
        values: [r.steady?.median, r.coldMs],
        note: r.status === "ok" ? undefined : `${r.status}: ${short(r.reason, 40)}`,
      })),
    })),
  });
}

/** Parses a positive integer option. */
function positive(name: string, value: string, min = 1): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new Error(`--${name} must be an integer >= ${min}, got "${value}"`);
  }
  return n;
}

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      models: { type: "string", default: DEFAULT_MODELS.join(",") },
      runtimes: { type: "string", default: RUNTIMES.map((r) => r.id).join(",") },
      runs: { type: "string", default: "10" },
      warmup: { type: "string", default: "2" },
      seed: { type: "string", default: "1" },
      batch: { type: "string", default: "1" },
      json: { type: "string" },
      svg: { type: "string" },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const ids = values.runtimes.split(",").filter((s) => s !== "");
  const unknown = ids.filter((id) => !RUNTIMES.some((r) => r.id === id));
  if (unknown.length > 0) {
    throw new Error(
      `Unknown runtime "${unknown[0]}"; choose from ${RUNTIMES.map((r) => r.id).join(", ")}`,
    );
  }
  const runtimes = RUNTIMES.filter((r) => ids.includes(r.id));
  const config = {
    runs: positive("runs", values.runs),
    warmup: positive("warmup", values.warmup, 0),
    seed: positive("seed", values.seed, 0),
    batch: positive("batch", values.batch),
  };
  const machine = await machineInfo();
  const report: ModelReport = {
    date: new Date().toISOString(),
    machine,
    versions: {
      deno: Deno.version.deno,
      v8: Deno.version.v8,
      resin: denoJson.version,
      onnxruntimeWeb: ORT_VERSIONS.web,
      onnxruntimeNode: ORT_VERSIONS.node,
    },
    config,
    models: [],
  };
  console.log(`${machineLine(machine)}`);
  console.log(
    `deno ${report.versions.deno}, resin ${report.versions.resin}, onnxruntime-web ` +
      `${report.versions.onnxruntimeWeb}, onnxruntime-node ${report.versions.onnxruntimeNode}; ` +
      `${config.runs} runs after ${config.warmup} warm-up, seed ${config.seed}, ` +
      `batch ${config.batch}`,
  );
  console.log("Times in ms; x <peer> = this runtime's median / the peer's (below 1: faster).");
  for (const name of values.models.split(",").filter((s) => s !== "")) {
    const result = await benchModel(name, runtimes, config);
    report.models.push(result);
    const convert = result.convertMs === undefined
      ? ""
      : `; resin conversion ${fmt(result.convertMs)} ms`;
    console.log(`\n${result.name} [${result.input.shape}]${convert}\n${modelTable(result)}\n`);
  }
  if (values.json) {
    await Deno.writeTextFile(values.json, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`Wrote ${values.json}`);
  }
  if (values.svg) {
    await Deno.writeTextFile(values.svg, reportChart(report));
    console.log(`Wrote ${values.svg}`);
  }
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (err) {
    console.error(errorMessage(err));
    Deno.exit(1);
  }
}
