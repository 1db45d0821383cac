/**
 * Converts an ONNX or TFLite model into a resin model folder (manifest.json + weights.bin).
 *
 * ```sh
 * deno run --allow-read --allow-write tools/convert.ts model.onnx|model.tflite --out DIR \
 *   [--name NAME] [--preprocess imagenet|stm_uint8|pixels_01|cifar10|none] [--labels FILE]
 * ```
 *
 * A file with the TFLite identifier `TFL3` at byte 4, or named `*.tflite`, is imported as
 * TFLite (src/tflite/), anything else as ONNX. The conversion-time graph passes (constant
 * folding, BatchNorm folding) are applied.
 * `--labels` takes one label per line, or ImageNet synset lines (`n01440764 tench, Tinca
 * tinca`), of which the first name is kept. Errors are one line on stderr: exit code 2 for
 * usage errors, 1 for everything else.
 *
 * @module
 */

import { basename, extname } from "node:path";
import { parseArgs } from "node:util";
import { convertOnnx } from "../src/onnx/convert_model.ts";
import { convertTflite, isTflite } from "../src/tflite/convert_model.ts";
import { writeModelDir } from "../src/weights/load_file.ts";
import { PREPROCESS_PRESETS, type PreprocessPreset } from "../src/weights/preprocess.ts";

const USAGE = "usage: deno task convert <model.onnx|model.tflite> --out DIR [--name NAME] " +
  "[--preprocess imagenet|stm_uint8|pixels_01|cifar10|none] [--labels FILE]";

/** A command line that cannot be run (exit code 2). */
class UsageError extends Error {}

/** Parsed command line of the converter. */
export interface ConvertArgs {
  /** The ONNX or TFLite file. */
  model: string;
  /** Output folder. */
  out: string;
  /** Model name; defaults to the file name without its extension. */
  name?: string;
  /** Preprocessing preset, or `undefined` for none. */
  preprocess?: PreprocessPreset;
  /** Labels file. */
  labels?: string;
}

/** Parses the converter's arguments; throws a `UsageError` when they are wrong. */
export function parseConvertArgs(args: string[]): ConvertArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        out: { type: "string" },
        name: { type: "string" },
        preprocess: { type: "string" },
        labels: { type: "string" },
      },
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}; ${USAGE}`);
  }
  const { positionals, values } = parsed;
  if (positionals.length !== 1) {
    throw new UsageError(`expected one model file, got ${positionals.length}; ${USAGE}`);
  }
  if (!values.out) throw new UsageError(`--out is required; ${USAGE}`);
  const preset = values.preprocess ?? "none";
  if (preset !== "none" && !(preset in PREPROCESS_PRESETS)) {
    throw new UsageError(
      `--preprocess must be one of ${Object.keys(PREPROCESS_PRESETS).join(", ")} or none, ` +
        `got "${preset}"`,
    );
  }
  return {
    model: positionals[0],
    out: values.out,
    name: values.name,
    preprocess: preset === "none" ? undefined : preset as PreprocessPreset,
    labels: values.labels,
  };
}

/**
 * Labels from a labels file: one per non-empty line; a synset line
 * `n01440764 tench, Tinca tinca` gives its first name, `tench`.
 *
 * @example
 * ```ts
 * parseLabels("n01440764 tench, Tinca tinca\nn01443537 goldfish\n"); // ["tench", "goldfish"]
 * ```
 */
export function parseLabels(text: string): string[] {
  return text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== "").map(
    (line) => {
      const synset = /^n\d{8}\s+(.+)$/.exec(line);
      return synset ? synset[1].split(",")[0].trim() : line;
    },
  );
}

/** Converts as `args` say and returns a one-line summary. */
export async function convert(args: ConvertArgs): Promise<string> {
  const bytes = await Deno.readFile(args.model);
  const name = args.name ?? basename(args.model, extname(args.model));
  const labels = args.labels === undefined
    ? undefined
    : parseLabels(await Deno.readTextFile(args.labels));
  const preprocess = args.preprocess && PREPROCESS_PRESETS[args.preprocess];
  const tflite = isTflite(bytes) || extname(args.model).toLowerCase() === ".tflite";
  const options = { name, source: basename(args.model), preprocess, labels };
  const encoded = await (tflite ? convertTflite : convertOnnx)(bytes, options);
  await writeModelDir(args.out, encoded);
  const { graph, tensors } = encoded.manifest;
  return `convert: wrote ${args.out} (${graph.nodes.length} nodes, ${tensors.length} ` +
    `tensors, ${encoded.weights.byteLength} weight bytes)`;
}

if (import.meta.main) {
  try {
    console.error(await convert(parseConvertArgs(Deno.args)));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    console.error(`convert: ${message.split("\n")[0]}`);
    Deno.exit(err instanceof UsageError ? 2 : 1);
  }
}
