/**
 * Deno only (file system): turns the CLI's `--model` argument into a converted model folder.
 * Not part of the library API (mod.ts), which must run in edge functions.
 *
 * - A path ending in `.onnx`: the file is converted into `<cache>/onnx/<stem>-<sha256 prefix>/`
 *   (reused while the file's sha256 is the same), with the ONNX zoo ImageNet recipe scaled to
 *   the model's input size ({@link imagenetRecipeFor}) and the ImageNet labels when the model
 *   has 1000 classes.
 * - An existing folder: used as it is.
 * - A registry name: taken from the cache, else fetched (mirror or download) by `ensureModel`.
 *
 * @module
 */

import { errorMessage } from "../errors.ts";
import { basename, extname, join } from "node:path";
import denoJson from "../../deno.json" with { type: "json" };
import {
  defaultCacheDir,
  ensureModel,
  isCached,
  type StatusSink,
  stderrStatus,
} from "../../tools/model_cache.ts";
import { conversionPasses } from "../graph/passes/pipelines.ts";
import type { ValueInfo } from "../graph/types.ts";
import { importOnnx } from "../onnx/import.ts";
import { findEntry, IMAGENET_LABELS, parseSynset, REGISTRY } from "../registry/models.ts";
import { encodeModel } from "../weights/encode.ts";
import { writeModelDir } from "../weights/load_file.ts";
import {
  MANIFEST_FILE,
  ManifestError,
  parseManifestJson,
  validateManifest,
} from "../weights/manifest.ts";
import { type ImagePreprocess, PREPROCESS_PRESETS } from "../weights/preprocess.ts";
import { sha256Hex } from "../weights/sha256.ts";
import { classCount } from "./classifier.ts";

/** Where {@link resolveModel} caches and fetches models. */
export interface ResolveOptions {
  /** Cache directory; default `defaultCacheDir()` (RESIN_CACHE, XDG_CACHE_HOME, ~/.cache). */
  cacheDir?: string;
  /** Mirror directory for registry files; default RESIN_MODEL_MIRROR. */
  mirror?: string;
  /** Status output for fetches and conversions; default stderr. */
  status?: StatusSink;
  /** How errors name a registry model, e.g. `"the default model"`; default `"model"`. */
  role?: string;
}

/**
 * The ONNX zoo ImageNet recipe for an NCHW f32 input of fixed size H x W: the preset's
 * 256 -> 224 resize-then-crop ratio kept, i.e. shorter side `round(max(H, W) * 256 / 224)`,
 * bilinear, then a centre crop of W x H. For 224 x 224 (or a symbolic size) this is exactly
 * `PREPROCESS_PRESETS.imagenet`; for 32 x 32 it resizes to 37. Undefined for any other input
 * (layout, dtype or channel count), which has no recipe resin could assume.
 */
export function imagenetRecipeFor(input: ValueInfo): ImagePreprocess | undefined {
  const preset = PREPROCESS_PRESETS.imagenet;
  const [, channels, height, width] = input.shape;
  const nchw = input.layout === undefined || input.layout === "NCHW";
  if (input.dtype !== "f32" || !nchw || input.shape.length !== 4 || channels !== 3) {
    return undefined;
  }
  if (typeof height !== "number" || typeof width !== "number") return preset;
  const size = Math.round((Math.max(height, width) * 256) / 224);
  return {
    ...preset,
    resize: { mode: "shorter_side", size, filter: "bilinear" },
    crop: { width, height },
  };
}

/**
 * The converted model folder for `spec`: an `.onnx` file (converted into the cache), a model
 * folder, or a registry name (cached or fetched). Throws a one-line error saying what `spec`
 * was taken for and what went wrong.
 */
export async function resolveModel(spec: string, options: ResolveOptions = {}): Promise<string> {
  const status = options.status ?? stderrStatus();
  if (extname(spec).toLowerCase() === ".onnx") {
    return await convertOnnxFile(spec, { ...options, status });
  }
  const stat = await Deno.stat(spec).catch(() => undefined);
  if (stat?.isDirectory) return spec;
  if (stat) {
    throw new Error(`Model "${spec}" is a file but not an .onnx file; pass a model folder`);
  }
  if (!REGISTRY.some((e) => e.name === spec)) {
    throw new Error(
      `Model "${spec}" is not a model folder, an .onnx file or a registry name; registry ` +
        `models: ${REGISTRY.filter((e) => e.format === "onnx").map((e) => e.name).join(", ")}`,
    );
  }
  const entry = findEntry(spec);
  if (entry.format !== "onnx") {
    throw new Error(
      entry.format === "synset"
        ? `"${spec}" is a label list, not a model`
        : `Model "${spec}" is a ${entry.format} file, which resin cannot convert yet`,
    );
  }
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const dir = join(cacheDir, entry.name);
  if (await isCached(entry, dir)) return dir;
  try {
    return await ensureModel(entry.name, { cacheDir, mirror: options.mirror, status });
  } catch (err) {
    // ensureModel fetches the labels first: both files may be missing.
    const files = entry.labels === "imagenet"
      ? `${entry.file} and ${IMAGENET_LABELS.file}`
      : entry.file;
    throw new Error(
      `Cannot get ${options.role ?? "model"} "${spec}": ${errorMessage(err)}. Put ${files} in a ` +
        `mirror folder (--mirror DIR or RESIN_MODEL_MIRROR), or pass --model with a folder or ` +
        `an .onnx file`,
    );
  }
}

/** Converts the ONNX file at `path` into the cache, unless its conversion is there already. */
async function convertOnnxFile(path: string, options: ResolveOptions): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new Error(`Model file "${path}" not found`);
    throw new Error(`Cannot read model file "${path}": ${errorMessage(err)}`);
  }
  const sha256 = await sha256Hex(bytes);
  const name = basename(path, extname(path));
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const dir = join(cacheDir, "onnx", `${name}-${sha256.slice(0, 16)}`);
  if (await holdsConversion(dir, sha256)) return dir;

  let imported;
  try {
    imported = importOnnx(bytes, { name });
  } catch (err) {
    throw new Error(`Cannot convert "${path}": ${errorMessage(err)}`);
  }
  const graph = conversionPasses(imported.graph);
  const output = graph.outputs[0];
  const classes = output && classCount(output);
  const encoded = await encodeModel(graph, {
    name,
    preprocess: graph.inputs.length === 1 ? imagenetRecipeFor(graph.inputs[0]) : undefined,
    labels: classes === 1000 ? await imagenetLabels(cacheDir, options) : undefined,
    provenance: {
      source: basename(path),
      sha256,
      sourceFormat: "onnx",
      opset: imported.opset,
      producer: imported.producer,
      converter: `resin ${denoJson.version}`,
    },
  });
  await writeModelDir(dir, encoded);
  options.status!.write(`${name}: converted ${path} into ${dir}\n`);
  return dir;
}

/** True when `dir` holds a valid conversion of the source with `sha256` and its weights. */
async function holdsConversion(dir: string, sha256: string): Promise<boolean> {
  let manifest;
  try {
    manifest = validateManifest(parseManifestJson(await Deno.readFile(join(dir, MANIFEST_FILE))));
  } catch (err) {
    // Absent or unreadable as a manifest: convert again.
    if (err instanceof Deno.errors.NotFound || err instanceof ManifestError) return false;
    throw err;
  }
  if (manifest.provenance.sha256 !== sha256) return false;
  const stat = await Deno.stat(join(dir, manifest.weights.file)).catch(() => undefined);
  return stat?.isFile === true && stat.size === manifest.weights.byteLength;
}

/** The ImageNet class names from the registry (cache, mirror or download), or none with a note. */
async function imagenetLabels(
  cacheDir: string,
  options: ResolveOptions,
): Promise<string[] | undefined> {
  try {
    const dir = await ensureModel(IMAGENET_LABELS.name, { ...options, cacheDir });
    return parseSynset(await Deno.readTextFile(join(dir, IMAGENET_LABELS.file)));
  } catch (err) {
    options.status!.write(
      `ImageNet labels unavailable (${errorMessage(err)}); classes are shown by index\n`,
    );
    return undefined;
  }
}
