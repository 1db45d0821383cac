/**
 * The resin CLI: classifies photos and prints the top classes.
 *
 * ```sh
 * deno run -A classify.ts photo.jpg [more.png ...] [--model NAME|DIR|FILE.onnx] [--top K]
 *   [--backend auto|gpu|cpu] [--batch N] [--threads N] [--f16] [--mirror DIR] [--json]
 * ```
 *
 * `--model` is a registry name (fetched once into the cache, from `--mirror`/RESIN_MODEL_MIRROR
 * or its public URL), a converted model folder, or an `.onnx` file (converted into the cache on
 * first use with the ImageNet recipe scaled to its input size). The default model is
 * `resnet50-v1-12`, the ONNX zoo's ResNet-50; without network access it needs
 * `resnet50-v1-12.onnx` in a mirror folder, else the CLI says so and exits with 1.
 * `--threads` sets the CPU path's threads (default: the cores, at most 4). `--f16` opts in to
 * reduced precision on the GPU (f16 operand copies; faster, 0.2-0.5% relative error; README).
 *
 * Results go to stdout: a table per image, or with `--json` one array of
 * `{ image, backend, model, top: [{ index, label, probability }] }`. Errors go to stderr, one
 * line each, prefixed `classify:`. Exit codes: 0 all images classified; 1 a model error, or at
 * least one image could not be read or decoded (the others are still classified); 2 a usage
 * error.
 *
 * @module
 */

import { errorMessage } from "./src/errors.ts";
import { parseArgs } from "node:util";
import type { Classification, Classifier } from "./src/api/classifier.ts";
import { loadModel } from "./src/api/load.ts";
import { resolveModel } from "./src/api/model_files.ts";
import { decodeImage } from "./src/image/decode.ts";
import type { RgbImage } from "./src/image/image.ts";
import { loadModelFromDir } from "./src/weights/load_file.ts";
import { MAX_CPU_THREADS, setCpuThreads } from "./src/wasm/cpu_threads.ts";

/** The model used without `--model`. */
const DEFAULT_MODEL = "resnet50-v1-12";

const USAGE = "Usage: deno run -A classify.ts IMAGE... [--model NAME|DIR|FILE.onnx] [--top K] " +
  "[--backend auto|gpu|cpu] [--batch N] [--threads N] [--f16] [--mirror DIR] [--json]";

/** A usage error: exit code 2. */
class UsageError extends Error {}

/** Parsed command line. */
interface Options {
  images: string[];
  model: string;
  /** Whether `--model` was given (else `model` is the default). */
  modelGiven: boolean;
  top: number;
  backend: "auto" | "gpu" | "cpu";
  batch: number;
  /** CPU threads (`setCpuThreads`); default: the CPU kernels' default. */
  threads?: number;
  /** Opt-in f16 storage on the GPU (`SessionOptions.gpuStorage`). */
  f16: boolean;
  mirror?: string;
  json: boolean;
  help: boolean;
}

/** One classified image, as `--json` prints it. */
interface Result extends Classification {
  image: string;
  backend: "gpu" | "cpu";
  model: string;
}

function positiveInt(value: string, option: string): number {
  if (!/^[1-9][0-9]*$/.test(value)) {
    throw new UsageError(`${option} must be a positive integer, got "${value}"`);
  }
  return Number(value);
}

function parseOptions(args: string[]): Options {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        model: { type: "string" },
        top: { type: "string", default: "5" },
        backend: { type: "string", default: "auto" },
        batch: { type: "string", default: "1" },
        threads: { type: "string" },
        f16: { type: "boolean", default: false },
        mirror: { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (err) {
    // node:util's messages span lines; keep the first, in this CLI's words where known.
    const first = errorMessage(err).split("\n")[0].replace(/\.$/, "");
    const unknown = /^Unknown option '([^']+)'/.exec(first);
    const ambiguous = /^Option '([^']+)' argument is ambiguous/.exec(first);
    throw new UsageError(
      unknown
        ? `unknown option "${unknown[1]}"`
        : ambiguous
        ? `${ambiguous[1]} needs a value; write ${ambiguous[1]}=VALUE for one starting with "-"`
        : first,
    );
  }
  const { values, positionals } = parsed;
  const backend = values.backend;
  if (backend !== "auto" && backend !== "gpu" && backend !== "cpu") {
    throw new UsageError(`--backend must be auto, gpu or cpu, got "${backend}"`);
  }
  const options: Options = {
    images: positionals,
    model: values.model ?? DEFAULT_MODEL,
    modelGiven: values.model !== undefined,
    top: positiveInt(values.top, "--top"),
    backend,
    batch: positiveInt(values.batch, "--batch"),
    threads: values.threads === undefined ? undefined : positiveInt(values.threads, "--threads"),
    f16: values.f16,
    mirror: values.mirror,
    json: values.json,
    help: values.help,
  };
  if (!options.help && options.images.length === 0) throw new UsageError("no image given");
  return options;
}

/** Reads and decodes one image file; throws an error naming the path. */
async function readImage(path: string): Promise<RgbImage> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new Error(`${path}: file not found`);
    if (err instanceof Deno.errors.IsADirectory) throw new Error(`${path}: is a directory`);
    throw new Error(`${path}: cannot read the file (${errorMessage(err)})`);
  }
  try {
    return decodeImage(bytes);
  } catch (err) {
    throw new Error(`${path}: ${errorMessage(err)}`);
  }
}

/** The top classes of one image as an aligned text table. */
function formatTable(result: Result): string {
  const rows = result.top.map((c, i) => [
    String(i + 1),
    String(c.index),
    c.label ?? "-",
    `${(c.probability * 100).toFixed(2)}%`,
  ]);
  const header = ["#", "class", "label", "probability"];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) =>
    "  " + cells.map((cell, c) => c === 2 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))
      .join("  ");
  return [
    `${result.image} (${result.model}, ${result.backend})`,
    line(header),
    ...rows.map(line),
  ].join("\n");
}

/** Loads the model named by `--model`, ready to classify. */
async function openModel(options: Options): Promise<Classifier> {
  if (options.threads !== undefined) setCpuThreads(Math.min(options.threads, MAX_CPU_THREADS));
  const dir = await resolveModel(options.model, {
    mirror: options.mirror,
    role: options.modelGiven ? "model" : "the default model",
  });
  const model = await loadModel(await loadModelFromDir(dir), {
    backend: options.backend,
    batch: options.batch,
    gpuStorage: options.f16 ? "f16" : "f32",
  });
  if (!model.preprocess) {
    model.dispose();
    throw new Error(
      `Model "${model.name}" (${dir}) has no preprocess recipe in its manifest, so images ` +
        `cannot be prepared for it`,
    );
  }
  return model;
}

/** Runs the CLI; returns the exit code. */
async function main(args: string[]): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(args);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`classify: ${err.message}. ${USAGE}`);
    return 2;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  let model: Classifier;
  try {
    model = await openModel(options);
  } catch (err) {
    console.error(`classify: ${oneLine(err)}`);
    return 1;
  }
  let failed = 0;
  const results: Result[] = [];
  let printed = 0;
  try {
    let pending: { path: string; image: RgbImage }[] = [];
    const flush = async () => {
      const classified = await model.classify(pending.map((p) => p.image), { top: options.top });
      classified.forEach((c, i) => {
        const result = { image: pending[i].path, backend: model.backend, model: model.name, ...c };
        if (options.json) results.push(result);
        else console.log(`${printed++ > 0 ? "\n" : ""}${formatTable(result)}`);
      });
      pending = [];
    };
    for (const path of options.images) {
      try {
        pending.push({ path, image: await readImage(path) });
      } catch (err) {
        console.error(`classify: ${oneLine(err)}`);
        failed++;
      }
      if (pending.length === options.batch) await flush();
    }
    if (pending.length > 0) await flush();
  } catch (err) {
    console.error(`classify: ${oneLine(err)}`);
    return 1;
  } finally {
    model.dispose();
  }
  if (options.json) console.log(JSON.stringify(results, null, 2));
  return failed > 0 ? 1 : 0;
}

function oneLine(err: unknown): string {
  return errorMessage(err).replace(/\s*\n\s*/g, " ");
}

if (import.meta.main) Deno.exit(await main(Deno.args));
