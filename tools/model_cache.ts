/**
 * The model cache: turns a registry name into a converted model folder on disk.
 *
 * Resolution: a cache hit (`CACHE/<name>/` already holds the conversion of the registry's
 * file) -> the mirror directory (`--mirror` or `RESIN_MODEL_MIRROR`; a file is found by its
 * name at the top level or one folder down) -> a streaming download from the registry URL.
 * Size and sha256 are always checked; a mismatch is an error. ONNX files are converted into
 * `manifest.json` + `weights.bin`; files resin cannot convert yet (TFLite, label lists) are
 * cached as the verified file itself.
 *
 * Everything is built in a staging folder inside the cache and renamed into place at the end,
 * so an error or Ctrl-C never leaves a partial file or folder behind.
 *
 * @module
 */

import { join } from "node:path";
import { convertOnnx } from "../src/onnx/convert_model.ts";
import {
  findEntry,
  IMAGENET_LABELS,
  parseSynset,
  REGISTRY,
  type RegistryEntry,
} from "../src/registry/models.ts";
import { writeModelDir } from "../src/weights/load_file.ts";
import {
  type Manifest,
  MANIFEST_FILE,
  ManifestError,
  parseManifestJson,
  validateManifest,
} from "../src/weights/manifest.ts";
import { PREPROCESS_PRESETS } from "../src/weights/preprocess.ts";
import { sha256Hex } from "../src/weights/sha256.ts";

/** Where status and progress text goes. */
export interface StatusSink {
  /** Writes `text` as is (lines end with `"\n"`; the terminal progress bar uses `"\r"`). */
  write(text: string): void;
  /** True when the sink is a terminal: progress redraws one line instead of printing lines. */
  terminal: boolean;
}

/** Options of {@link ensureModel}. */
export interface EnsureOptions {
  /** Cache directory; default {@link defaultCacheDir}. */
  cacheDir?: string;
  /** Mirror directory; default {@link defaultMirrorDir}. */
  mirror?: string;
  /** Rebuild even when the cache holds the model. */
  force?: boolean;
  /** Accept a file whose registry entry documents no sha256 (it cannot be verified). */
  allowUnverified?: boolean;
  /** Registry to look names up in; default `REGISTRY`. */
  registry?: readonly RegistryEntry[];
  /** Status and progress output; default stderr. */
  status?: StatusSink;
}

/**
 * The default cache directory: `$RESIN_CACHE`, else `$XDG_CACHE_HOME/resin`, else
 * `~/.cache/resin`.
 */
export function defaultCacheDir(): string {
  const explicit = Deno.env.get("RESIN_CACHE");
  if (explicit) return explicit;
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  if (xdg) return join(xdg, "resin");
  const home = Deno.env.get("HOME");
  if (!home) {
    throw new Error(
      "Cannot choose a cache directory: set RESIN_CACHE, XDG_CACHE_HOME or HOME, or pass --cache",
    );
  }
  return join(home, ".cache", "resin");
}

/** The default mirror directory: `$RESIN_MODEL_MIRROR`, or none when unset or empty. */
export function defaultMirrorDir(): string | undefined {
  return Deno.env.get("RESIN_MODEL_MIRROR") || undefined;
}

/** A sink writing to stderr, in terminal mode when stderr is a terminal. */
export function stderrStatus(): StatusSink {
  const encoder = new TextEncoder();
  return {
    terminal: Deno.stderr.isTerminal(),
    write(text) {
      const bytes = encoder.encode(text);
      let done = 0;
      while (done < bytes.length) done += Deno.stderr.writeSync(bytes.subarray(done));
    },
  };
}

/** Formats a byte count for people: `"98.5 kB"`, `"102.6 MB"`. */
export function formatBytes(bytes: number): string {
  return bytes < 1e6 ? `${(bytes / 1e3).toFixed(1)} kB` : `${(bytes / 1e6).toFixed(1)} MB`;
}

/**
 * Download progress. On a terminal it redraws one line (`label [####....] done / total  N%`)
 * whenever the whole percentage changes; elsewhere it prints one line each time the download
 * passes another 10 %.
 */
export class DownloadProgress {
  /** The last percentage shown; a terminal shows 0 %, a log starts at 10 %. */
  #shown: number;

  /** Starts reporting the download of `total` bytes of `label` to `sink`. */
  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly sink: StatusSink,
  ) {
    this.#shown = sink.terminal ? -1 : 0;
  }

  /** Reports that `received` bytes have arrived so far. */
  update(received: number): void {
    const percent = Math.floor((100 * received) / this.total);
    const step = this.sink.terminal ? percent : Math.floor(percent / 10) * 10;
    if (step <= this.#shown) return;
    this.#shown = step;
    const amounts = `${formatBytes(received)} / ${formatBytes(this.total)}`;
    if (this.sink.terminal) {
      const filled = Math.floor(percent / 5);
      const bar = "#".repeat(filled) + ".".repeat(20 - filled);
      this.sink.write(`\r${this.label} [${bar}] ${amounts} ${String(percent).padStart(3)}%`);
    } else {
      this.sink.write(`${this.label}: ${percent}% (${amounts})\n`);
    }
  }

  /** Ends the progress display (finishes the terminal line). */
  finish(): void {
    if (this.sink.terminal && this.#shown >= 0) this.sink.write("\n");
  }
}

/**
 * Finds `file` in `mirror`: at its top level, else in one of its subfolders (sorted by name).
 * Returns the path, or `undefined` when no copy exists. A missing mirror directory is an error.
 */
export async function findInMirror(mirror: string, file: string): Promise<string | undefined> {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(mirror));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(`Mirror directory "${mirror}" does not exist`);
    }
    throw err;
  }
  if (entries.some((e) => e.name === file && !e.isDirectory)) return join(mirror, file);
  const folders = entries.filter((e) => e.isDirectory).map((e) => e.name).sort();
  for (const folder of folders) {
    const path = join(mirror, folder, file);
    if (await isFile(path)) return path;
  }
  return undefined;
}

/**
 * The manifest of the converted model in `dir` when it is valid and its weights file has the
 * manifest's size; `undefined` when either is missing, invalid or of another format version.
 */
export async function convertedManifest(dir: string): Promise<Manifest | undefined> {
  const json = await readIfPresent(join(dir, MANIFEST_FILE));
  if (json === undefined) return undefined;
  let manifest;
  try {
    manifest = validateManifest(parseManifestJson(json));
  } catch (err) {
    if (err instanceof ManifestError) return undefined;
    throw err;
  }
  const stat = await Deno.stat(join(dir, manifest.weights.file)).catch(() => undefined);
  return stat?.isFile === true && stat.size === manifest.weights.byteLength ? manifest : undefined;
}

/**
 * True when `dir` holds what {@link ensureModel} builds for `entry`: for ONNX a converted model
 * ({@link convertedManifest}) whose provenance sha256 is the registry's (or, for an entry
 * without a documented sha256, whose source is the entry's file); for other formats the file
 * itself with the registry's sha256.
 */
export async function isCached(entry: RegistryEntry, dir: string): Promise<boolean> {
  if (entry.format !== "onnx") {
    const bytes = await readIfPresent(join(dir, entry.file));
    if (bytes === undefined) return false;
    return entry.sha256 === undefined || await sha256Hex(bytes) === entry.sha256;
  }
  const provenance = (await convertedManifest(dir))?.provenance;
  if (!provenance) return false;
  return entry.sha256 === undefined
    ? provenance.source === entry.file
    : provenance.sha256 === entry.sha256;
}

/**
 * Makes sure the model `name` is in the cache and returns its folder (for ONNX models the
 * converted `manifest.json` + `weights.bin`; for other formats the verified file). Status
 * lines say whether it was a cache hit, taken from the mirror or downloaded.
 *
 * On Ctrl-C during the fetch the staging folder is removed and the process exits with 130.
 *
 * @example
 * ```ts
 * const dir = await ensureModel("resnet50-v1-7", { mirror: "../shared/models" });
 * const model = await loadModelFromDir(dir);
 * ```
 */
export async function ensureModel(name: string, options: EnsureOptions = {}): Promise<string> {
  const registry = options.registry ?? REGISTRY;
  const entry = findEntry(name, registry);
  const status = options.status ?? stderrStatus();
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const dir = join(cacheDir, entry.name);
  if (!options.force && await isCached(entry, dir)) {
    status.write(`${entry.name}: cache hit, ${dir}\n`);
    return dir;
  }
  if (entry.sha256 === undefined && !options.allowUnverified) {
    throw new Error(
      `${entry.name} has no documented sha256, so a download cannot be verified; pass ` +
        `--allow-unverified to accept it anyway`,
    );
  }
  // Labels first: they are cached on their own and must not share this staging folder.
  const labels = entry.format === "onnx" && entry.labels === "imagenet"
    ? await imagenetLabels({ ...options, force: false })
    : undefined;

  await Deno.mkdir(cacheDir, { recursive: true });
  // Not Deno.makeTempDir: its mode 0700 would stay on the cached folder; mkdir honours umask.
  const staging = join(cacheDir, `.${entry.name}.${crypto.randomUUID()}`);
  await Deno.mkdir(staging);
  const removeStaging = () => {
    try {
      Deno.removeSync(staging, { recursive: true });
    } catch (err) {
      // Gone already when the error came after the rename into place.
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  };
  const onInterrupt = () => {
    removeStaging();
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", onInterrupt);
  try {
    const source = await obtainSource(entry, staging, options.mirror, status);
    if (entry.format === "onnx") {
      const preset = entry.preprocess;
      const encoded = await convertOnnx(source, {
        name: entry.name,
        source: entry.file,
        preprocess: preset === "none" ? undefined : PREPROCESS_PRESETS[preset],
        labels,
      }).catch((err) => {
        throw new Error(`Cannot convert ${entry.file}: ${describe(err)}`);
      });
      await writeModelDir(staging, encoded);
    } else {
      await Deno.writeFile(join(staging, entry.file), source);
    }
    await moveIntoPlace(staging, dir);
  } catch (err) {
    removeStaging();
    throw err;
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
  }
  status.write(`${entry.name}: ready, ${dir}\n`);
  return dir;
}

/** The entry's file from the mirror, or downloaded; size and checksum verified. */
async function obtainSource(
  entry: RegistryEntry,
  staging: string,
  mirrorOption: string | undefined,
  status: StatusSink,
): Promise<Uint8Array> {
  const mirror = mirrorOption ?? defaultMirrorDir();
  const mirrored = mirror ? await findInMirror(mirror, entry.file) : undefined;
  if (mirrored) {
    status.write(`${entry.name}: using mirror copy ${mirrored}\n`);
    return await verify(entry, await Deno.readFile(mirrored), mirrored, status);
  }
  status.write(`${entry.name}: downloading ${entry.url}\n`);
  const bytes = await download(entry, join(staging, `${entry.file}.part`), status);
  return await verify(entry, bytes, entry.url, status);
}

/**
 * Streams `entry.url` into `partPath` with progress, stopping as soon as more bytes than the
 * registry size arrive; returns the bytes and removes the file.
 */
async function download(
  entry: RegistryEntry,
  partPath: string,
  status: StatusSink,
): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(entry.url);
  } catch (err) {
    throw new Error(`Download of ${entry.url} failed: ${describe(err)}`);
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new Error(
      `Download of ${entry.url} failed: HTTP ${response.status} ${response.statusText}`,
    );
  }
  const progress = new DownloadProgress(entry.file, entry.size, status);
  let received = 0;
  const counter = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      received += chunk.length;
      if (received > entry.size) {
        throw sizeMismatch(entry, `more than ${entry.size} bytes`, entry.url);
      }
      progress.update(received);
      controller.enqueue(chunk);
    },
  });
  const file = await Deno.open(partPath, { write: true, createNew: true });
  try {
    await response.body.pipeThrough(counter).pipeTo(file.writable);
  } catch (err) {
    if (received > entry.size) throw err;
    throw new Error(`Download of ${entry.url} failed: ${describe(err)}`);
  } finally {
    progress.finish();
  }
  const bytes = await Deno.readFile(partPath);
  await Deno.remove(partPath);
  return bytes;
}

/** Checks size and sha256 of `bytes` against the registry; `where` names their origin. */
async function verify(
  entry: RegistryEntry,
  bytes: Uint8Array,
  where: string,
  status: StatusSink,
): Promise<Uint8Array> {
  if (bytes.length !== entry.size) throw sizeMismatch(entry, `${bytes.length} bytes`, where);
  const sha256 = await sha256Hex(bytes);
  if (entry.sha256 === undefined) {
    status.write(`${entry.name}: accepted unverified (no documented sha256; got ${sha256})\n`);
  } else if (sha256 !== entry.sha256) {
    throw new Error(
      `Checksum mismatch for ${entry.file} from ${where}: expected sha256 ${entry.sha256}, ` +
        `got ${sha256}`,
    );
  }
  return bytes;
}

/** An error's message, with its cause's (where fetch says why, e.g. a refused connection). */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return err.cause instanceof Error ? `${err.message} (${err.cause.message})` : err.message;
}

/** The error for a file of the wrong size. */
function sizeMismatch(entry: RegistryEntry, actual: string, where: string): Error {
  return new Error(
    `Size mismatch for ${entry.file} from ${where}: expected ${entry.size} bytes, got ${actual}`,
  );
}

/**
 * The ImageNet class names in class-index order, from the registry's label list (fetched and
 * cached like a model).
 */
export async function imagenetLabels(options: EnsureOptions = {}): Promise<string[]> {
  const dir = await ensureModel(IMAGENET_LABELS.name, options);
  const text = await Deno.readTextFile(join(dir, IMAGENET_LABELS.file));
  return parseSynset(text);
}

/** Renames `staging` to `dir`, replacing an existing `dir`. */
async function moveIntoPlace(staging: string, dir: string): Promise<void> {
  const stat = await Deno.lstat(dir).catch(() => undefined);
  if (!stat) return await Deno.rename(staging, dir);
  const old = `${staging}.old`;
  await Deno.rename(dir, old);
  await Deno.rename(staging, dir);
  await Deno.remove(old, { recursive: true });
}

/** The file's bytes, or `undefined` when it does not exist. */
async function readIfPresent(path: string): Promise<Uint8Array | undefined> {
  try {
    return await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

/** True when `path` is an existing file. */
async function isFile(path: string): Promise<boolean> {
  const stat = await Deno.stat(path).catch(() => undefined);
  return stat?.isFile === true;
}
