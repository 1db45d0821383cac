/**
 * Accuracy of a model on labelled images, and its per-image agreement with another runtime.
 *
 * ```sh
 * deno task eval --model M --images DIR --labels labels.tsv [--reference predictions.tsv]
 *   [--reference-column NAME] [--backend auto|gpu|cpu] [--f16] [--preprocess PRESET|JSON]...
 *   [--batch N] [--limit N] [--json]
 * ```
 *
 * - `--model`: a converted model folder, or an `.onnx` file converted in memory.
 * - `--labels`: tab-separated `filename, class index[, names...]` lines (as
 *   ../shared/images/labels.tsv and ../shared/images/cifar10/labels.tsv); the images are read
 *   from `--images` in that order, the first `--limit` of them.
 * - `--preprocess`: the manifest's recipe is the start; a preset name (imagenet, stm_uint8,
 *   pixels_01, cifar10) replaces it, a JSON object overrides its fields, applied in the order
 *   given. E.g. `--preprocess cifar10 --preprocess '{"mean":[0.5,0.5,0.5],"std":[0.5,0.5,0.5]}'`.
 * - `--reference`: predicted classes of another runtime, tab-separated `filename, class` lines,
 *   or a `#`-header naming several columns (../shared/models/cifar10/predictions.tsv); the
 *   column is `--reference-column`, else the one whose name the model's name starts with
 *   (ignoring case and punctuation; the longest such).
 * - `--batch`: images per model run (default 32; a fixed-batch model takes its own). The last
 *   batch is filled up with copies of its last image, whose results are dropped.
 *
 * Top-1 is the first index of the highest score; top-5 counts the label when fewer than five
 * classes rank before it (a higher score, or an equal one at a lower index). Progress goes to
 * stderr (redrawn on a terminal, a line per 10 % otherwise); the report to stdout, as text or
 * with `--json` one JSON object. Errors are one line on stderr and exit code 1.
 *
 * @module
 */

import { errorMessage } from "../src/errors.ts";
import { basename, extname, join } from "node:path";
import { parseArgs } from "node:util";
import { dequantize } from "../src/api/scores.ts";
import type { GpuContext } from "../src/executor/gpu_device.ts";
import type { StoragePrecision } from "../src/ops/op.ts";
import { type BackendChoice, createSession, type Session } from "../src/executor/session.ts";
import { decodeImage } from "../src/image/decode.ts";
import { imagesToTensor } from "../src/image/preprocess.ts";
import { convertOnnx } from "../src/onnx/convert_model.ts";
import { decodeModel, type LoadedModel } from "../src/weights/decode.ts";
import { loadModelFromDir } from "../src/weights/load_file.ts";
import { validateManifest } from "../src/weights/manifest.ts";
import {
  type ImagePreprocess,
  PREPROCESS_PRESETS,
  type PreprocessPreset,
} from "../src/weights/preprocess.ts";
import { type StatusSink, stderrStatus } from "./model_cache.ts";

const USAGE = "usage: deno task eval --model DIR|FILE.onnx --images DIR --labels FILE " +
  "[--reference FILE] [--reference-column NAME] [--backend auto|gpu|cpu] [--f16] " +
  "[--preprocess PRESET|JSON]... [--batch N] [--limit N] [--json]";

/** Images per model run unless `--batch` says otherwise. */
export const DEFAULT_BATCH = 32;

/** Disagreements with the reference listed in a report. */
const LISTED_DISAGREEMENTS = 10;

/** What to evaluate and how. */
export interface EvalOptions {
  /** Model folder or `.onnx` file. */
  model: string;
  /** Folder holding the images. */
  images: string;
  /** Labels file. */
  labels: string;
  /** Reference predictions file. */
  reference?: string;
  /** Column of the reference file to compare with. */
  referenceColumn?: string;
  /** Backend; default `"auto"`. */
  backend?: BackendChoice;
  /** Opt-in f16 storage on the GPU (`--f16`, `SessionOptions.gpuStorage`); default `"f32"`. */
  gpuStorage?: StoragePrecision;
  /** Preset names and JSON overrides of the recipe, applied in order. */
  preprocess?: string[];
  /** Images per model run; default `DEFAULT_BATCH`. */
  batch?: number;
  /** Evaluate only the first `limit` labelled images. */
  limit?: number;
  /** An open GPU for the session (it is not closed). */
  gpu?: GpuContext;
  /** Where progress goes; default stderr. */
  progress?: StatusSink;
}

/** One image the reference and resin disagree on. */
export interface Disagreement {
  /** Image file name. */
  image: string;
  /** True class. */
  label: number;
  /** resin's top-1 class. */
  resin: number;
  /** The reference's class. */
  reference: number;
  /** resin's score of its class minus its score of the reference's class (>= 0). */
  margin: number;
}

/** Correct predictions among the images evaluated. */
export interface Hits {
  /** Images whose label is among the predictions. */
  correct: number;
  /** `correct / images`. */
  accuracy: number;
}

/** The result of an evaluation, as `--json` prints it. */
export interface EvalReport {
  /** Model name (manifest name, or the ONNX file's stem). */
  model: string;
  /** The backend that ran it, the adapter, and why an `auto` session fell back to the CPU. */
  backend: "gpu" | "cpu";
  adapter?: string;
  fallbackReason?: string;
  /** `"f16"` when the GPU stored its convs' operand copies as f16 (`--f16`). */
  gpuStorage?: StoragePrecision;
  /** Images evaluated, and per model run. */
  images: number;
  batch: number;
  /** The recipe the images were preprocessed with. */
  preprocess: ImagePreprocess;
  top1: Hits;
  top5: Hits;
  /** Agreement of resin's top-1 with the reference's predictions. */
  reference?: {
    /** The reference predictions file and the column compared with. */
    file: string;
    column: string;
    /** Images where resin's top-1 equals the reference's class, and where it does not. */
    agree: number;
    disagree: number;
    /** The first `LISTED_DISAGREEMENTS` disagreements, in image order. */
    disagreements: Disagreement[];
  };
  /** Wall-clock seconds: loading (conversion and session), the whole loop, model runs only. */
  seconds: { load: number; eval: number; inference: number };
}

/** One line of a labels file. */
interface LabelledImage {
  file: string;
  label: number;
}

/** Parses a labels file: `filename <TAB> class index [<TAB> names...]` per line. */
export function parseLabels(text: string, path: string): LabelledImage[] {
  const images: LabelledImage[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === "" || line.startsWith("#")) return;
    const [file, index] = line.split("\t");
    if (index === undefined || !/^\d+$/.test(index)) {
      throw new Error(
        `${path} line ${i + 1}: expected "filename<TAB>class index", got ${JSON.stringify(line)}`,
      );
    }
    images.push({ file, label: Number(index) });
  });
  if (images.length === 0) throw new Error(`${path} lists no images`);
  return images;
}

/** Canonical form of model and column names for matching: lower case letters and digits. */
function canonical(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, "");
}

/**
 * Parses a reference predictions file and picks its column: `column` when given, else the
 * only prediction column, else the longest column name that `model` starts with.
 */
export function parseReference(
  text: string,
  path: string,
  model: string,
  column?: string,
): { column: string; classes: Map<string, number> } {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== "");
  const header = lines[0]?.startsWith("#") ? lines.shift()!.slice(1).trim().split("\t") : null;
  const names = header ? header.slice(1) : ["class"];
  const candidates = names.filter((n) => n !== "label");
  let chosen = column;
  if (chosen === undefined) {
    const matches = candidates.filter((n) => canonical(model).startsWith(canonical(n)));
    chosen = candidates.length === 1
      ? candidates[0]
      : matches.sort((a, b) => canonical(b).length - canonical(a).length)[0];
  }
  const at = chosen === undefined ? -1 : names.indexOf(chosen);
  if (at < 0) {
    throw new Error(
      `${path} has no column ${
        chosen === undefined ? `matching model "${model}"` : `"${chosen}"`
      }` +
        `; pass --reference-column with one of: ${candidates.join(", ")}`,
    );
  }
  const classes = new Map<string, number>();
  lines.forEach((line, i) => {
    const fields = line.split("\t");
    const value = fields[at + 1];
    if (value === undefined || !/^\d+$/.test(value)) {
      throw new Error(
        `${path} data line ${i + 1}: column "${chosen}" is ${JSON.stringify(value)}, ` +
          `not a class index`,
      );
    }
    classes.set(fields[0], Number(value));
  });
  return { column: chosen!, classes };
}

/**
 * The recipe after applying `specs` in order to `base`: a preset name replaces the recipe, a
 * JSON object overrides its top-level fields.
 */
export function resolveRecipe(
  base: ImagePreprocess | undefined,
  specs: readonly string[],
): ImagePreprocess | undefined {
  let recipe: Record<string, unknown> | undefined = base && { ...base };
  for (const spec of specs) {
    if (spec in PREPROCESS_PRESETS) {
      recipe = { ...PREPROCESS_PRESETS[spec as PreprocessPreset] };
      continue;
    }
    let override: unknown;
    try {
      override = JSON.parse(spec);
    } catch {
      override = undefined;
    }
    if (typeof override !== "object" || override === null || Array.isArray(override)) {
      throw new Error(
        `--preprocess ${JSON.stringify(spec)} is neither a preset (${
          Object.keys(PREPROCESS_PRESETS).join(", ")
        }) nor a JSON object`,
      );
    }
    recipe = { ...recipe, ...override };
  }
  return recipe as ImagePreprocess | undefined;
}

/** Loads a model folder, or converts an `.onnx` file in memory. */
export async function loadEvalModel(path: string): Promise<LoadedModel> {
  if (extname(path).toLowerCase() !== ".onnx") return await loadModelFromDir(path);
  const bytes = await Deno.readFile(path);
  const name = basename(path, extname(path));
  const { manifest, weights } = await convertOnnx(bytes, { name, source: basename(path) });
  return await decodeModel(manifest, weights);
}

/** Rank of class `c` in `scores`: classes with a higher score, or an equal one before it. */
function rankOf(scores: Float64Array, c: number): number {
  let rank = 0;
  for (let j = 0; j < scores.length; j++) {
    if (scores[j] > scores[c] || (scores[j] === scores[c] && j < c)) rank++;
  }
  return rank;
}

/** The first index of the highest score. */
function argmax(scores: Float64Array): number {
  let best = 0;
  for (let j = 1; j < scores.length; j++) if (scores[j] > scores[best]) best = j;
  return best;
}

/**
 * Evaluation progress on `sink`: on a terminal one redrawn line with a bar, otherwise a line
 * each time another 10 % of the images is done.
 */
export class EvalProgress {
  #shown = -1;
  #start = performance.now();

  /** Starts reporting on `total` images. */
  constructor(private readonly total: number, private readonly sink: StatusSink) {}

  /** Reports that `done` images are evaluated. */
  update(done: number): void {
    const percent = Math.floor((100 * done) / this.total);
    const step = this.sink.terminal ? percent : Math.floor(percent / 10) * 10;
    if (step <= this.#shown || (!this.sink.terminal && step === 0)) return;
    this.#shown = step;
    const rate = `${(done / ((performance.now() - this.#start) / 1000)).toFixed(1)} images/s`;
    if (this.sink.terminal) {
      const filled = Math.floor(percent / 5);
      const bar = "#".repeat(filled) + ".".repeat(20 - filled);
      this.sink.write(
        `\reval [${bar}] ${done}/${this.total} ${String(percent).padStart(3)}% ${rate}`,
      );
    } else {
      this.sink.write(`eval: ${percent}% (${done}/${this.total} images, ${rate})\n`);
    }
  }

  /** Ends the progress display (finishes the terminal line). */
  finish(): void {
    if (this.sink.terminal && this.#shown >= 0) this.sink.write("\n");
  }
}

/** The batch size to run: the model's fixed batch, else `requested`. */
function batchFor(model: LoadedModel, requested: number | undefined): number {
  const dim = model.graph.inputs[0].shape[0];
  if (typeof dim !== "number") return requested ?? DEFAULT_BATCH;
  if (requested !== undefined && requested !== dim) {
    throw new Error(
      `Model "${model.manifest.name}" takes batches of ${dim} only, not ${requested}`,
    );
  }
  return dim;
}

/** Decodes one image of the evaluation, naming the file in errors. */
async function readImage(dir: string, file: string) {
  const path = join(dir, file);
  try {
    return decodeImage(await Deno.readFile(path));
  } catch (err) {
    throw new Error(`Cannot read image ${path}: ${errorMessage(err)}`);
  }
}

/** Runs the evaluation of `options` and returns its report. */
export async function runEval(options: EvalOptions): Promise<EvalReport> {
  const loadStart = performance.now();
  const labelled = parseLabels(await Deno.readTextFile(options.labels), options.labels)
    .slice(0, options.limit);
  const model = await loadEvalModel(options.model);
  const { graph, manifest } = model;
  if (graph.inputs.length !== 1 || graph.outputs.length < 1) {
    throw new Error(`Model "${manifest.name}" must have one image input and an output`);
  }
  const recipe = resolveRecipe(manifest.preprocess, options.preprocess ?? []);
  if (!recipe) {
    throw new Error(
      `Model "${manifest.name}" has no preprocessing recipe; pass --preprocess with a preset ` +
        `(${Object.keys(PREPROCESS_PRESETS).join(", ")}) or a JSON recipe`,
    );
  }
  let preprocess: ImagePreprocess;
  try {
    preprocess = validateManifest({ ...manifest, preprocess: recipe }).preprocess!;
  } catch (err) {
    throw new Error(`The recipe does not suit model "${manifest.name}": ${errorMessage(err)}`);
  }
  const reference = options.reference === undefined ? undefined : {
    file: options.reference,
    ...parseReference(
      await Deno.readTextFile(options.reference),
      options.reference,
      manifest.name,
      options.referenceColumn,
    ),
  };
  for (const { file } of labelled) {
    if (reference && !reference.classes.has(file)) {
      throw new Error(`${reference.file} has no prediction for image ${file}`);
    }
  }
  const batch = batchFor(model, options.batch);
  const session = await createSession(model, {
    backend: options.backend ?? "auto",
    batch,
    gpu: options.gpu,
    gpuStorage: options.gpuStorage,
  });
  const loadSeconds = (performance.now() - loadStart) / 1000;
  try {
    const report = await evaluate(session, model, labelled, {
      dir: options.images,
      batch,
      preprocess,
      reference,
      loadSeconds,
      progress: new EvalProgress(labelled.length, options.progress ?? stderrStatus()),
    });
    const f16 = session.backend === "gpu" && options.gpuStorage === "f16";
    return f16 ? { ...report, gpuStorage: "f16" } : report;
  } finally {
    session.dispose();
  }
}

/** The evaluation loop over `labelled` in batches, and the report. */
async function evaluate(
  session: Session,
  model: LoadedModel,
  labelled: readonly LabelledImage[],
  run: {
    dir: string;
    batch: number;
    preprocess: ImagePreprocess;
    reference?: { file: string; column: string; classes: Map<string, number> };
    loadSeconds: number;
    progress: EvalProgress;
  },
): Promise<EvalReport> {
  const { graph } = model;
  const [input] = graph.inputs;
  const output = graph.outputs[0].name;
  const start = performance.now();
  let inferenceMs = 0;
  let top1 = 0;
  let top5 = 0;
  let agree = 0;
  const disagreements: Disagreement[] = [];
  for (let first = 0; first < labelled.length; first += run.batch) {
    const chunk = labelled.slice(first, first + run.batch);
    const images = await Promise.all(chunk.map(({ file }) => readImage(run.dir, file)));
    while (images.length < run.batch) images.push(images[images.length - 1]);
    const x = imagesToTensor(images, run.preprocess, input.quant);
    const runStart = performance.now();
    const outputs = await session.run({ [input.name]: x });
    inferenceMs += performance.now() - runStart;
    const scores = dequantize(outputs[output], graph.outputs[0].quant);
    const classes = scores.length / run.batch;
    chunk.forEach(({ file, label }, n) => {
      const row = scores.subarray(n * classes, (n + 1) * classes);
      if (label >= classes) {
        throw new Error(`Image ${file} has label ${label}, but the model has ${classes} classes`);
      }
      const predicted = argmax(row);
      if (predicted === label) top1++;
      if (rankOf(row, label) < 5) top5++;
      const expected = run.reference?.classes.get(file);
      if (expected === undefined) return;
      if (expected >= classes) {
        throw new Error(
          `${run.reference!.file} predicts class ${expected} for image ${file}, but the model ` +
            `has ${classes} classes`,
        );
      }
      if (expected === predicted) {
        agree++;
      } else if (disagreements.length < LISTED_DISAGREEMENTS) {
        const margin = row[predicted] - row[expected];
        disagreements.push({ image: file, label, resin: predicted, reference: expected, margin });
      }
    });
    run.progress.update(first + chunk.length);
  }
  run.progress.finish();
  const n = labelled.length;
  return {
    model: model.manifest.name,
    backend: session.backend,
    ...(session.adapter !== undefined && { adapter: session.adapter }),
    ...(session.fallbackReason !== undefined && { fallbackReason: session.fallbackReason }),
    images: n,
    batch: run.batch,
    preprocess: run.preprocess,
    top1: { correct: top1, accuracy: top1 / n },
    top5: { correct: top5, accuracy: top5 / n },
    ...(run.reference && {
      reference: {
        file: run.reference.file,
        column: run.reference.column,
        agree,
        disagree: n - agree,
        disagreements,
      },
    }),
    seconds: {
      load: run.loadSeconds,
      eval: (performance.now() - start) / 1000,
      inference: inferenceMs / 1000,
    },
  };
}

/** The report as text for people. */
export function formatReport(r: EvalReport): string {
  const pct = (h: Hits) => `${h.correct}/${r.images} = ${(100 * h.accuracy).toFixed(2)} %`;
  const where = (r.backend === "gpu" && r.adapter ? ` (${r.adapter})` : "") +
    (r.gpuStorage === "f16" ? ", f16 storage" : "");
  const lines = [
    `model      ${r.model} on ${r.backend}${where}, batch ${r.batch}`,
    ...(r.fallbackReason ? [`fallback   ${r.fallbackReason}`] : []),
    `top-1      ${pct(r.top1)}`,
    `top-5      ${pct(r.top5)}`,
  ];
  if (r.reference) {
    const ref = r.reference;
    lines.push(
      `reference  ${ref.file} [${ref.column}]: agree ${ref.agree}/${r.images}, ` +
        `${ref.disagree} disagreement${ref.disagree === 1 ? "" : "s"}`,
      ...ref.disagreements.map((d) =>
        `  ${d.image}: resin ${d.resin}, reference ${d.reference}, label ${d.label} ` +
        `(resin's score margin ${d.margin.toExponential(2)})`
      ),
    );
  }
  const s = r.seconds;
  lines.push(
    `time       ${s.eval.toFixed(1)} s for ${r.images} images ` +
      `(${(r.images / s.eval).toFixed(1)} images/s; model runs ${s.inference.toFixed(1)} s), ` +
      `load ${s.load.toFixed(1)} s`,
  );
  return lines.join("\n");
}

/** A positive integer option, or undefined when absent. */
function positiveInt(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[1-9]\d*$/.test(value)) {
    throw new Error(`--${name} must be a positive integer, got "${value}"`);
  }
  return Number(value);
}

/** Parses the command line into evaluation options and the output format. */
export function parseEvalArgs(args: string[]): { options: EvalOptions; json: boolean } {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      options: {
        model: { type: "string" },
        images: { type: "string" },
        labels: { type: "string" },
        reference: { type: "string" },
        "reference-column": { type: "string" },
        backend: { type: "string", default: "auto" },
        f16: { type: "boolean", default: false },
        preprocess: { type: "string", multiple: true },
        batch: { type: "string" },
        limit: { type: "string" },
        json: { type: "boolean", default: false },
      },
    });
  } catch (err) {
    throw new Error(`${errorMessage(err)}; ${USAGE}`);
  }
  const v = parsed.values;
  if (!v.model || !v.images || !v.labels) throw new Error(USAGE);
  if (v.backend !== "auto" && v.backend !== "gpu" && v.backend !== "cpu") {
    throw new Error(`--backend must be auto, gpu or cpu, got "${v.backend}"`);
  }
  return {
    options: {
      model: v.model,
      images: v.images,
      labels: v.labels,
      reference: v.reference,
      referenceColumn: v["reference-column"],
      backend: v.backend,
      gpuStorage: v.f16 ? "f16" : "f32",
      preprocess: v.preprocess ?? [],
      batch: positiveInt(v.batch, "batch"),
      limit: positiveInt(v.limit, "limit"),
    },
    json: v.json,
  };
}

if (import.meta.main) {
  try {
    const { options, json } = parseEvalArgs(Deno.args);
    const report = await runEval(options);
    console.log(json ? JSON.stringify(report) : formatReport(report));
  } catch (err) {
    console.error(`eval: ${errorMessage(err).split("\n")[0]}`);
    Deno.exit(1);
  }
}
